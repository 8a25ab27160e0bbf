package quant

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// TestA16W8HistogramGolden checks the int16 activation observer of the a16w8 config (ActInt16:
// symmetric [-32767, 32767], eps 2^-12, L2 search over 65536 destination bins) against
// PyTorch's HistogramObserver (tools/golden/a16w8_gen.py), bit-exactly.
func TestA16W8HistogramGolden(t *testing.T) {
	b, err := os.ReadFile("testdata/a16w8_hist.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cases []struct {
			Name      string
			Batches   [][]uint32
			SearchMin uint32 `json:"search_min"`
			Scale     uint32
			ZeroPoint int32 `json:"zero_point"`
		}
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	// search_max has its own key
	var raw struct {
		Cases []struct {
			SearchMax uint32 `json:"search_max"`
		}
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	if len(doc.Cases) != 3 {
		t.Fatalf("%d cases", len(doc.Cases))
	}
	differ := 0
	for i, c := range doc.Cases {
		h := NewHistogram(ActInt16)
		for _, bt := range c.Batches {
			x := make([]float32, len(bt))
			for j, v := range bt {
				x[j] = math.Float32frombits(v)
			}
			if err := h.Observe(x, []int{len(x)}); err != nil {
				t.Fatal(err)
			}
		}
		lo, hi := h.Range()
		if math.Float32bits(lo) != c.SearchMin || math.Float32bits(hi) != raw.Cases[i].SearchMax {
			t.Errorf("%s: search range [%v, %v], torch [%v, %v]", c.Name, lo, hi, math.Float32frombits(c.SearchMin), math.Float32frombits(raw.Cases[i].SearchMax))
		}
		s, z := h.QParams()
		if math.Float32bits(s[0]) != c.Scale || z[0] != c.ZeroPoint {
			t.Errorf("%s: qparams (%v, %d), torch (%v, %d)", c.Name, s[0], z[0], math.Float32frombits(c.Scale), c.ZeroPoint)
		}
		// The same search with 256 destination bins (an 8-bit dtype) picks another range on at
		// least one case, so the test sees the int16 dst_nbins.
		h8 := *h
		h8.Scheme = Scheme{QMin: -127, QMax: 127, Symmetric: true, Eps: Eps12}
		if lo8, hi8 := h8.Range(); lo8 != lo || hi8 != hi {
			differ++
		}
	}
	if differ == 0 {
		t.Error("the 256-bin search agrees with the 65536-bin one on every case: the golden cannot tell them apart")
	}
}

// TestQParamInt16Range checks the int16 quantize/dequantize ranges.
func TestQParamInt16Range(t *testing.T) {
	q := QParam{Scale: 0.5, Int16: true}
	if q.QMin() != -32767 || q.QMax() != 32767 {
		t.Fatalf("range %d..%d", q.QMin(), q.QMax())
	}
	if v := q.QuantizeInt(-1e9); v != -32767 {
		t.Errorf("saturate low %d", v)
	}
	if v := q.QuantizeInt(1.25); v != 2 { // 2.5 rounds half to even
		t.Errorf("1.25 -> %d", v)
	}
	if lo, hi := q.Range(); lo != -16383.5 || hi != 16383.5 {
		t.Errorf("Range %v..%v", lo, hi)
	}
	if q8 := (QParam{Scale: 1, ZP: -128}); q8.QMin() != -128 || q8.QMax() != 127 {
		t.Errorf("int8 range %d..%d", q8.QMin(), q8.QMax())
	}
}
