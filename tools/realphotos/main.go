// Command realphotos builds the real-photo evaluation folder of issue 13
// from photographs shipped in Debian packages (see build.sh next to it,
// which downloads and unpacks the packages and then runs this program).
//
//	go run ./tools/realphotos -src UNPACKED_DEBS -out FOLDER
//
// For every photograph in the manifest below it checks the SHA-256 of the
// file, decodes it to 8-bit RGB, reduces it by an integer box filter to a
// short side of 400-799 pixels (wallpapers are 1050-1600 px high; the
// reduction averages away JPEG blocks and demosaicing softness so that
// pixels carry detail like a well-exposed photo at screen size), and cuts
// up to 64 non-overlapping 32x32 crops spread evenly over a regular grid
// (all crops, flat sky included: nothing is selected by content). The
// folder gets:
//
//	FOLDER/test/NAME_KK.png   the 32x32 crops (what `vgfq eval` scores)
//	FOLDER/train/NAME.png     the reduced photographs (the folder format
//	                          needs a train/ split; these are the same
//	                          photos, so training on them is not held out)
//	FOLDER/SOURCES.tsv        name, package, file, author, licence, sizes
//
// Evaluate with the whole test split: `vgfq eval --model RUN --data FOLDER
// --batches 0`. The output is byte-identical for the same inputs.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"

	"github.com/vgfq/vgfq/internal/atomicfile"
)

// photo is one source photograph.
type photo struct {
	name    string // output name
	pkg     string // Debian package
	path    string // file inside the unpacked package
	sha256  string
	author  string
	license string
}

const (
	skimage = "usr/lib/python3/dist-packages/skimage/data/"
	mate    = "usr/share/backgrounds/mate/nature/"
	plasma  = "usr/share/wallpapers/"
)

// photos is the manifest. Licences are as stated by the packages
// (debian/copyright, skimage's data docstrings, Plasma's metadata.json).
var photos = []photo{
	{"astronaut", "python3-skimage", skimage + "astronaut.png", "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5", "NASA (Eileen Collins portrait)", "public domain"},
	{"chelsea", "python3-skimage", skimage + "chelsea.png", "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb", "Stefan van der Walt", "CC0"},
	{"coffee", "python3-skimage", skimage + "coffee.png", "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7", "Rachel Michetti", "CC0"},
	{"rocket", "python3-skimage", skimage + "rocket.jpg", "c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c", "SpaceX", "public domain"},
	{"motorcycle", "python3-skimage", skimage + "motorcycle_left.png", "db18e9c4157617403c3537a6ba355dfeafe9a7eabb6b9b94cb33f6525dd49179", "Middlebury 2014 stereo dataset (Scharstein et al.)", "see skimage.data.stereo_motorcycle"},
	{"aqua", "mate-backgrounds", mate + "Aqua.jpg", "5c30118205982da441bf7e6a1ada636a8a0be879408140b3148280c665ed6bce", "Charles Barbin", "GPL-2+"},
	{"blinds", "mate-backgrounds", mate + "Blinds.jpg", "f7aac0dcc2e06d0491643e84df3da1d9db7c4610f58806a880d56e074799f600", "Lennart Poettering, Andrea Cimitan", "GPL-2+"},
	{"dune", "mate-backgrounds", mate + "Dune.jpg", "8a67c2cb0be8c46b70c237311a4fa4d2b4ac7d39568135384787801fa5cc9a91", "Marco Cogoni, Hylke Bons", "GPL-2+"},
	{"freshflower", "mate-backgrounds", mate + "FreshFlower.jpg", "972b0a0c4e5e3fa93f4f244fc84bc64b121a5eac3aaa5856f1308c1f38a02f8e", "Jens Ansorg", "GPL-2+"},
	{"garden", "mate-backgrounds", mate + "Garden.jpg", "d3095ee09d425ef23d27155412136cf14fc3c9af76ca58b452f55e23da324e78", "Charles Barbin", "GPL-2+"},
	{"greenmeadow", "mate-backgrounds", mate + "GreenMeadow.jpg", "8fa0de0aa4089f7319c9fb7a6d006d4cab6023e8c8853731557cff53567b4832", "Timothy Schellhase, Lapo Calamandrei", "GPL-2+"},
	{"ladybird", "mate-backgrounds", mate + "LadyBird.jpg", "e35a9a4126ef969c90b29c038058c5a575a20eadd84106a37bf1fa9931e7b61d", "Charles Barbin", "GPL-2+"},
	{"raindrops", "mate-backgrounds", mate + "RainDrops.jpg", "3e4ea9671c28c90a86cf67b3db9daf18c4741587c596333a7529ca589aaa0c16", "blackcombwhistler07", "GPL-2+"},
	{"storm", "mate-backgrounds", mate + "Storm.jpg", "77ca53077831d3237f73393a91fc879158abc046d852941c26e90de336356957", "Sergey Nazarov", "GPL-2+"},
	{"twowings", "mate-backgrounds", mate + "TwoWings.jpg", "665e5abf8a5399070a91a9a8e455fe071e5b61697ff78fdeda4e9843ef545aeb", "Charles Barbin, Hylke Bons", "GPL-2+"},
	{"wood", "mate-backgrounds", mate + "Wood.jpg", "19c78500ac00a622e19907ab9cc7d06d46fe08c4a6142759a84195696150ec07", "Jean-François Fortin Tam", "GPL-2+"},
	{"yellowflower", "mate-backgrounds", mate + "YellowFlower.jpg", "254da96256acb7add685679775a04d1e4a5bc8cd13e5a5a3d61351ce198a5306", "Charles Barbin", "GPL-2+"},
	{"bythewater", "plasma-workspace-wallpapers", plasma + "BytheWater/contents/images/2560x1600.jpg", "c272434ef39f2abf1ed48a15a8910088020f3165329a5092f3940ec9464bc05f", "Maciej Wiklo", "LGPL-3"},
	{"coldripple", "plasma-workspace-wallpapers", plasma + "ColdRipple/contents/images/2560x1600.jpg", "05bef6722fc0ed81292cceb3ed026c38d17e510f3c84be7d68610c2b1a723c3f", "Risto Saukonpää", "LGPL-3"},
	{"colorfulcups", "plasma-workspace-wallpapers", plasma + "ColorfulCups/contents/images/2560x1600.jpg", "6e0f3a72feb5a4a9fec191b77e34874c3c69e2d93040deb3f07773e73385023d", "Dmitri Popov", "LGPL-3"},
	{"darkesthour", "plasma-workspace-wallpapers", plasma + "DarkestHour/contents/images/2560x1600.jpg", "8e3703fae3a3c217b1fc2b399b706cd3720584268d071ba153e4809daa55f1ce", "Risto Saukonpää", "LGPL-3"},
	{"eveningglow", "plasma-workspace-wallpapers", plasma + "EveningGlow/contents/images/2560x1600.jpg", "586682dcb362b9f620068f10138f87d0d3649939aef238adc5807cb951976a7a", "Ian Hex", "LGPL-3"},
	{"fallenleaf", "plasma-workspace-wallpapers", plasma + "FallenLeaf/contents/images/2560x1600.jpg", "95603a6560c7e8d50e0e03b3f4adbe39c5258c72528e74e4ecaea1daf4e499de", "Martin Klapetek", "LGPL-3"},
	{"grey", "plasma-workspace-wallpapers", plasma + "Grey/contents/images/2560x1600.jpg", "88c31d8944b7e6935d1b9a296654c692f0772cb512491713eb30a972a604c0ed", "Sigi Sagi", "LGPL-3"},
	{"kite", "plasma-workspace-wallpapers", plasma + "Kite/contents/images/2560x1600.jpg", "bdca288ce296a981e80659c021cf707caddc702c0c8d4247e60bd618476d47f8", "Risto Saukonpää", "LGPL-3"},
	{"onestandsout", "plasma-workspace-wallpapers", plasma + "OneStandsOut/contents/images/2560x1600.jpg", "cb507baf1dafdcae362264f3aba9483ed4be5f6c9fdd770f0ec0920c6d9e80fd", "Risto Saukonpää", "LGPL-3"},
	{"path", "plasma-workspace-wallpapers", plasma + "Path/contents/images/2560x1600.jpg", "7477457d7f17b736259f1b021864778ad4ba802cf3214e6728181ff29126bba8", "Risto Saukonpää", "LGPL-3"},
	{"summer1am", "plasma-workspace-wallpapers", plasma + "summer_1am/contents/images/2560x1600.jpg", "c868b50789591dd42910153c768053f1ba0a98cb36bbfc2b7a96a1045d0477f8", "Risto Saukonpää", "LGPL-3"},
}

const (
	crop     = 32
	maxCrops = 64
	minShort = 400
)

func main() {
	src := flag.String("src", "", "directory with the unpacked packages, one subdirectory per package (as build.sh lays them out)")
	out := flag.String("out", "", "output folder (created; existing files of the same names are replaced)")
	print := flag.Bool("print-hashes", false, "print the SHA-256 of every source file and exit (to fill in the manifest)")
	flag.Parse()
	if *src == "" || (*out == "" && !*print) {
		fmt.Fprintln(os.Stderr, "usage: realphotos -src UNPACKED_DEBS -out FOLDER")
		os.Exit(2)
	}
	if err := run(*src, *out, *print); err != nil {
		fmt.Fprintln(os.Stderr, "realphotos:", err)
		os.Exit(1)
	}
}

func run(src, out string, printHashes bool) error {
	if !printHashes {
		for _, d := range []string{"train", "test"} {
			if err := os.MkdirAll(filepath.Join(out, d), 0o755); err != nil {
				return err
			}
		}
	}
	var tsv strings.Builder
	tsv.WriteString("name\tpackage\tfile\tsha256\tauthor\tlicense\tsource_size\treduced_size\tcrops\n")
	total := 0
	for _, p := range photos {
		file := filepath.Join(src, p.pkg, p.path)
		b, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		h := hex.EncodeToString(sum[:])
		if printHashes {
			fmt.Printf("%s\t%s\n", p.name, h)
			continue
		}
		if p.sha256 != "" && h != p.sha256 {
			return fmt.Errorf("%s: SHA-256 %s, the manifest expects %s (another package version?)", file, h, p.sha256)
		}
		var img image.Image
		if bytes.HasPrefix(b, []byte("\x89PNG")) {
			img, err = png.Decode(bytes.NewReader(b))
		} else {
			img, err = jpeg.Decode(bytes.NewReader(b))
		}
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		rgb := toNRGBA(img)
		w0, h0 := rgb.Bounds().Dx(), rgb.Bounds().Dy()
		f := max(1, min(w0, h0)/minShort)
		small := boxReduce(rgb, f)
		if err := writePNG(filepath.Join(out, "train", p.name+".png"), small); err != nil {
			return err
		}
		w, hh := small.Bounds().Dx(), small.Bounds().Dy()
		gx, gy := w/crop, hh/crop
		cells := gx * gy
		n := min(cells, maxCrops)
		ox, oy := (w-gx*crop)/2, (hh-gy*crop)/2
		for j := 0; j < n; j++ {
			c := (2*j + 1) * cells / (2 * n) // evenly spread cell index
			x0, y0 := ox+(c%gx)*crop, oy+(c/gx)*crop
			sub := image.NewNRGBA(image.Rect(0, 0, crop, crop))
			draw.Draw(sub, sub.Bounds(), small, image.Pt(x0, y0), draw.Src)
			if err := writePNG(filepath.Join(out, "test", fmt.Sprintf("%s_%02d.png", p.name, j)), sub); err != nil {
				return err
			}
		}
		total += n
		fmt.Fprintf(&tsv, "%s\t%s\t%s\t%s\t%s\t%s\t%dx%d\t%dx%d\t%d\n", p.name, p.pkg, p.path, h, p.author, p.license, w0, h0, w, hh, n)
	}
	if printHashes {
		return nil
	}
	if err := atomicfile.WriteBytes(filepath.Join(out, "SOURCES.tsv"), []byte(tsv.String()), 0o644); err != nil {
		return err
	}
	fmt.Printf("%d photographs, %d crops of %dx%d in %s\n", len(photos), total, crop, crop, out)
	return nil
}

// toNRGBA converts to opaque 8-bit RGB (alpha dropped).
func toNRGBA(img image.Image) *image.NRGBA {
	b := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
			c.A = 255
			out.SetNRGBA(x, y, c)
		}
	}
	return out
}

// boxReduce averages f x f blocks (sRGB values, rounded half up); a
// partial last row or column of blocks is dropped.
func boxReduce(img *image.NRGBA, f int) *image.NRGBA {
	if f == 1 {
		return img
	}
	w, h := img.Bounds().Dx()/f, img.Bounds().Dy()/f
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	n := f * f
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var s [3]int
			for dy := 0; dy < f; dy++ {
				row := img.Pix[(y*f+dy)*img.Stride+4*x*f:]
				for dx := 0; dx < f; dx++ {
					s[0] += int(row[4*dx])
					s[1] += int(row[4*dx+1])
					s[2] += int(row[4*dx+2])
				}
			}
			o := out.Pix[y*out.Stride+4*x:]
			for c := range s {
				o[c] = uint8((2*s[c] + n) / (2 * n))
			}
			o[3] = 255
		}
	}
	return out
}

func writePNG(path string, img image.Image) error {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, buf.Bytes(), 0o644)
}
