package data

import (
	"container/list"
	"sync"
)

// lru is a size-bounded least-recently-used cache of decoded images, safe
// for concurrent use. An item larger than the whole budget is not kept.
type lru[T any] struct {
	mu     sync.Mutex
	budget int64
	used   int64
	size   func(T) int64
	order  *list.List // front: most recently used
	items  map[int]*list.Element
}

type lruEntry[T any] struct {
	key  int
	val  T
	size int64
}

func newLRU[T any](budget int64, size func(T) int64) *lru[T] {
	return &lru[T]{budget: budget, size: size, order: list.New(), items: map[int]*list.Element{}}
}

func (c *lru[T]) get(k int) (T, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*lruEntry[T]).val, true
	}
	var zero T
	return zero, false
}

func (c *lru[T]) put(k int, v T) {
	n := c.size(v)
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok { // decoded concurrently by another reader
		c.order.MoveToFront(e)
		return
	}
	if n > c.budget {
		return
	}
	for c.used+n > c.budget {
		old := c.order.Back()
		ent := old.Value.(*lruEntry[T])
		c.order.Remove(old)
		delete(c.items, ent.key)
		c.used -= ent.size
	}
	c.items[k] = c.order.PushFront(&lruEntry[T]{key: k, val: v, size: n})
	c.used += n
}

// bytes returns the size of the cached items.
func (c *lru[T]) bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used
}
