package data

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// cifarRecords returns n records whose label is (seed+r)%10 and whose
// byte k is (seed + 7r + k) % 256.
func cifarRecords(n, seed int) []byte {
	b := make([]byte, n*CIFARRecordBytes)
	for r := 0; r < n; r++ {
		rec := b[r*CIFARRecordBytes:]
		rec[0] = byte((seed + r) % 10)
		for k := 0; k < cifarImageBytes; k++ {
			rec[1+k] = byte(seed + 7*r + k)
		}
	}
	return b
}

func TestParseCIFAR10(t *testing.T) {
	s, err := ParseCIFAR10("x.bin", cifarRecords(3, 5), 3)
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 3 || s.Label(1) != 6 {
		t.Fatalf("Len %d, label %d", s.Len(), s.Label(1))
	}
	if h, w := s.Size(); h != 32 || w != 32 {
		t.Fatalf("size %dx%d", h, w)
	}
	dst := make([]float32, 3*32*32)
	if err := s.Read(2, nil, dst); err != nil {
		t.Fatal(err)
	}
	// Byte k of the image is channel k/1024, row (k%1024)/32, column k%32:
	// exactly the CHW layout.
	for _, k := range []int{0, 1, 33, 1024, 2047, 3071} {
		want := float32(byte(5+14+k)) / 255
		if dst[k] != want {
			t.Errorf("dst[%d] = %v, want %v", k, dst[k], want)
		}
	}
	if err := s.Read(3, nil, dst); err == nil {
		t.Error("index out of range accepted")
	}
	if err := s.Read(0, nil, dst[:100]); err == nil {
		t.Error("short dst accepted")
	}
}

func TestParseCIFAR10Errors(t *testing.T) {
	b := cifarRecords(4, 0)
	_, err := ParseCIFAR10("data_batch_3.bin", b[:len(b)-1], 4)
	if err == nil || !strings.Contains(err.Error(), "data_batch_3.bin: 12291 bytes, not 4 records of 3073 bytes (truncated?)") {
		t.Errorf("truncated: %v", err)
	}
	_, err = ParseCIFAR10("a.bin", b[:len(b)-1], 0)
	if err == nil || !strings.Contains(err.Error(), "a.bin") || !strings.Contains(err.Error(), "multiple") {
		t.Errorf("not a multiple: %v", err)
	}
	b[2*CIFARRecordBytes] = 10
	_, err = ParseCIFAR10("test_batch.bin", b, 4)
	if err == nil || !strings.Contains(err.Error(), "test_batch.bin: record 2: label 10") {
		t.Errorf("bad label: %v", err)
	}
}

// cifarArchive builds a tar.gz with the layout of the official archive
// and n records per file; truncate names a .bin file to cut short.
func cifarArchive(t *testing.T, n int, truncate string) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	add := func(name string, b []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "cifar-10-batches-bin/", Mode: 0o755, Typeflag: tar.TypeDir}); err != nil {
		t.Fatal(err)
	}
	add("cifar-10-batches-bin/batches.meta.txt", []byte("airplane\nautomobile\n"))
	for i, f := range append(slices.Clone(cifarTrainFiles), cifarTestFile, "readme.html") {
		b := cifarRecords(n, 10*i)
		if f == truncate {
			b = b[:len(b)-CIFARRecordBytes/2]
		}
		add("cifar-10-batches-bin/"+f, b)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// archiveServer serves body with Range support (http.ServeContent) and
// records the Range headers it receives. If noRange, Range is ignored.
type archiveServer struct {
	*httptest.Server
	mu      sync.Mutex
	ranges  []string
	noRange bool
}

func newArchiveServer(body []byte, noRange bool) *archiveServer {
	s := &archiveServer{noRange: noRange}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.ranges = append(s.ranges, r.Header.Get("Range"))
		s.mu.Unlock()
		if s.noRange {
			r.Header.Del("Range")
		}
		http.ServeContent(w, r, "cifar-10-binary.tar.gz", time.Time{}, bytes.NewReader(body))
	}))
	return s
}

func (s *archiveServer) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ranges...)
}

func checkSmallCIFAR(t *testing.T, ds *Dataset, n int) {
	t.Helper()
	if ds.Train.Len() != 5*n || ds.Test.Len() != n {
		t.Fatalf("train %d test %d images, want %d and %d", ds.Train.Len(), ds.Test.Len(), 5*n, n)
	}
	dst := make([]float32, 3*32*32)
	// Image 0 of data_batch_2 (seed 10) and of the test batch (seed 50).
	if err := ds.Train.Read(n, nil, dst); err != nil || dst[1] != float32(11)/255 {
		t.Errorf("train image %d: %v, %v", n, dst[1], err)
	}
	if err := ds.Test.Read(0, nil, dst); err != nil || dst[1] != float32(51)/255 {
		t.Errorf("test image 0: %v, %v", dst[1], err)
	}
}

func TestCIFAR10Download(t *testing.T) {
	const n = 3
	body := cifarArchive(t, n, "")
	srv := newArchiveServer(body, false)
	defer srv.Close()
	dir := t.TempDir()
	var last, total int64
	opt := DownloadOptions{URL: srv.URL, MD5: md5hex(body), RecordsPerFile: n,
		Progress: func(d, tot int64) { last, total = d, tot }}
	ds, err := CIFAR10(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	checkSmallCIFAR(t, ds, n)
	if last != int64(len(body)) || total != int64(len(body)) {
		t.Errorf("progress ended at %d/%d, want %d", last, total, len(body))
	}
	if _, err := os.Stat(filepath.Join(dir, "cifar-10-binary.tar.gz")); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "cifar-10-binary.tar.gz.part")); !os.IsNotExist(err) {
		t.Errorf(".part left behind: %v", err)
	}
	// Second call uses the cache without the network.
	srv.Close()
	if ds, err := CIFAR10(dir, opt); err != nil {
		t.Fatal(err)
	} else {
		checkSmallCIFAR(t, ds, n)
	}
	if got := len(srv.requests()); got != 1 {
		t.Errorf("%d requests, want 1", got)
	}
}

func TestCIFAR10Resume(t *testing.T) {
	const n = 2
	body := cifarArchive(t, n, "")
	for _, noRange := range []bool{false, true} {
		srv := newArchiveServer(body, noRange)
		dir := t.TempDir()
		half := len(body) / 2
		if err := os.WriteFile(filepath.Join(dir, "cifar-10-binary.tar.gz.part"), body[:half], 0o644); err != nil {
			t.Fatal(err)
		}
		var first int64 = -1
		ds, err := CIFAR10(dir, DownloadOptions{URL: srv.URL, MD5: md5hex(body), RecordsPerFile: n,
			Progress: func(d, tot int64) {
				if first < 0 {
					first = d
				}
			}})
		srv.Close()
		if err != nil {
			t.Fatalf("noRange=%v: %v", noRange, err)
		}
		checkSmallCIFAR(t, ds, n)
		reqs := srv.requests()
		if len(reqs) != 1 || reqs[0] != "bytes="+strconv.Itoa(half)+"-" {
			t.Errorf("noRange=%v: requests %q", noRange, reqs)
		}
		wantFirst := int64(half)
		if noRange {
			wantFirst = 0 // server answered 200: restarted
		}
		if first != wantFirst {
			t.Errorf("noRange=%v: progress started at %d, want %d", noRange, first, wantFirst)
		}
	}
}

func TestCIFAR10BadChecksum(t *testing.T) {
	body := cifarArchive(t, 1, "")
	srv := newArchiveServer(body, false)
	defer srv.Close()
	dir := t.TempDir()
	_, err := CIFAR10(dir, DownloadOptions{URL: srv.URL, MD5: strings.Repeat("0", 32), RecordsPerFile: 1})
	if err == nil || !strings.Contains(err.Error(), "MD5") {
		t.Fatalf("err = %v", err)
	}
	for _, f := range []string{"cifar-10-binary.tar.gz", "cifar-10-binary.tar.gz.part", "cifar-10-batches-bin"} {
		if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
			t.Errorf("%s exists after a bad checksum", f)
		}
	}
}

func TestCIFAR10Offline(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // connection refused from now on
	dir := t.TempDir()
	_, err := CIFAR10(dir, DownloadOptions{URL: url + "/cifar-10-binary.tar.gz"})
	if !errors.Is(err, ErrOffline) {
		t.Fatalf("err = %v, want ErrOffline", err)
	}
	if !strings.Contains(err.Error(), filepath.Join(dir, "cifar-10-binary.tar.gz")) {
		t.Errorf("error does not say where to put the archive: %v", err)
	}
	t.Log(err)

	// The archive placed by hand is used without the network.
	body := cifarArchive(t, 2, "")
	if err := os.WriteFile(filepath.Join(dir, "cifar-10-binary.tar.gz"), body, 0o644); err != nil {
		t.Fatal(err)
	}
	ds, err := CIFAR10(dir, DownloadOptions{URL: url, MD5: md5hex(body), RecordsPerFile: 2})
	if err != nil {
		t.Fatal(err)
	}
	checkSmallCIFAR(t, ds, 2)
}

func TestCIFAR10HTTPError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	_, err := CIFAR10(t.TempDir(), DownloadOptions{URL: srv.URL})
	if err == nil || errors.Is(err, ErrOffline) || !strings.Contains(err.Error(), "404") {
		t.Errorf("err = %v", err)
	}
}

func TestCIFAR10Cancel(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000000")
		w.Write(make([]byte, 1000))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := CIFAR10(t.TempDir(), DownloadOptions{URL: srv.URL, Context: ctx})
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrOffline) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestCIFAR10Stall(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000000")
		w.Write(make([]byte, 1000))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	dir := t.TempDir()
	_, err := CIFAR10(dir, DownloadOptions{URL: srv.URL, StallTimeout: 100 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "no data received") {
		t.Errorf("err = %v", err)
	}
	// The partial download is kept for a resume.
	if st, err := os.Stat(filepath.Join(dir, "cifar-10-binary.tar.gz.part")); err != nil || st.Size() != 1000 {
		t.Errorf(".part: %v, %v", st, err)
	}
}

func TestCIFAR10TruncatedMember(t *testing.T) {
	body := cifarArchive(t, 2, "data_batch_3.bin")
	srv := newArchiveServer(body, false)
	defer srv.Close()
	dir := t.TempDir()
	_, err := CIFAR10(dir, DownloadOptions{URL: srv.URL, MD5: md5hex(body), RecordsPerFile: 2})
	if err == nil || !strings.Contains(err.Error(), "data_batch_3.bin: 4610 bytes, not 2 records of 3073 bytes (truncated?)") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "cifar-10-batches-bin")); !os.IsNotExist(err) {
		t.Error("extraction directory published despite the error")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".extract") {
			t.Errorf("temporary directory %s left behind", e.Name())
		}
	}
}

func TestLoadCIFAR10DirErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadCIFAR10Dir(dir); err == nil || !strings.Contains(err.Error(), "data_batch_1.bin") {
		t.Errorf("missing files: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data_batch_1.bin"), cifarRecords(2, 0), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCIFAR10Dir(dir); err == nil || !strings.Contains(err.Error(), "data_batch_1.bin: 6146 bytes, not 10000 records") {
		t.Errorf("short file: %v", err)
	}
}
