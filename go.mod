module github.com/vgfq/vgfq

go 1.26.8
