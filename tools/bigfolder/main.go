// Command bigfolder writes a large folder of full-size PNG photos' worth of bytes (DIV2K-sized,
// 2040x1356 RGB, stored uncompressed so the folder's size on disk equals the decoded size) for
// measuring vgfq's memory on folders that do not fit in memory:
//
//	go run ./tools/bigfolder -dir /tmp/big -gb 10
//	/usr/bin/time -v vgfq train --data /tmp/big --crop 64 --input-size 32 --batch 16 --epochs 1 ...
//
// The pixels are pseudo-random (xorshift), different in every file.
package main

import (
	"bufio"
	"compress/zlib"
	"flag"
	"fmt"
	"image"
	"image/png"
	"log"
	"os"
	"path/filepath"
)

func main() {
	dir := flag.String("dir", "", "output folder (created)")
	gb := flag.Float64("gb", 1, "total size in GB (10^9 bytes)")
	w := flag.Int("w", 2040, "image width")
	h := flag.Int("h", 1356, "image height")
	flag.Parse()
	if *dir == "" {
		log.Fatal("-dir is required")
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		log.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, *w, *h))
	for i := range img.Pix {
		img.Pix[i] = 255 // opaque; RGB overwritten below
	}
	enc := png.Encoder{CompressionLevel: png.CompressionLevel(zlib.NoCompression)}
	var total int64
	state := uint64(88172645463325252)
	for n := 0; float64(total) < *gb*1e9; n++ {
		for i := 0; i < len(img.Pix); i += 4 {
			state ^= state << 13
			state ^= state >> 7
			state ^= state << 17
			img.Pix[i], img.Pix[i+1], img.Pix[i+2] = byte(state), byte(state>>8), byte(state>>16)
		}
		p := filepath.Join(*dir, fmt.Sprintf("%04d.png", n+1))
		f, err := os.Create(p)
		if err != nil {
			log.Fatal(err)
		}
		bw := bufio.NewWriterSize(f, 1<<20)
		if err := enc.Encode(bw, img); err != nil {
			log.Fatal(err)
		}
		if err := bw.Flush(); err != nil {
			log.Fatal(err)
		}
		st, _ := f.Stat()
		total += st.Size()
		if err := f.Close(); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("%s: %.2f GB\n", *dir, float64(total)/1e9)
}
