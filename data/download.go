package data

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Official location and MD5 checksum of the CIFAR-10 binary archive.
const (
	CIFAR10URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
	CIFAR10MD5 = "c32a1d4ab5d03f1284b67883e8d87530"
)

const (
	cifarArchiveName = "cifar-10-binary.tar.gz"
	cifarDirName     = "cifar-10-batches-bin"
)

// ErrOffline is wrapped by the error CIFAR10 returns when the download
// server cannot be reached (no network, DNS failure, connection refused,
// timeout). Test for it with errors.Is and fall back, e.g. to Builtin.
var ErrOffline = errors.New("offline: cannot reach the download server")

// DownloadOptions configures CIFAR10. The zero value downloads the
// official archive.
type DownloadOptions struct {
	// URL of the archive; default CIFAR10URL.
	URL string
	// MD5 is the expected hex MD5 of the archive; default CIFAR10MD5.
	MD5 string
	// Progress, if set, is called as the download proceeds with the bytes
	// downloaded so far (including a resumed part) and the total size
	// (-1 if unknown).
	Progress func(done, total int64)
	// Context cancels the download; default context.Background().
	Context context.Context
	// Client is the HTTP client; default one with connect, TLS and
	// response-header timeouts.
	Client *http.Client
	// StallTimeout aborts a download that receives no data for this long;
	// default 60s.
	StallTimeout time.Duration
	// RecordsPerFile is the number of records expected in each .bin
	// file; default CIFARFileRecords (10000). Tests use small archives.
	RecordsPerFile int
}

// DefaultCacheDir returns $VGFQ_CACHE if set, else
// os.UserCacheDir()/vgfq.
func DefaultCacheDir() (string, error) {
	if d := os.Getenv("VGFQ_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory (set VGFQ_CACHE): %w", err)
	}
	return filepath.Join(d, "vgfq"), nil
}

// CIFAR10 returns the CIFAR-10 dataset from cacheDir (default
// DefaultCacheDir()), downloading and extracting it on first use:
//
//   - the archive is downloaded to cacheDir/cifar-10-binary.tar.gz.part,
//     resuming an existing .part with an HTTP Range request when the
//     server supports it, and renamed into place only once its MD5
//     matches (a mismatch deletes the .part);
//   - the .bin files are extracted into a temporary directory that is
//     then renamed to cacheDir/cifar-10-batches-bin.
//
// If the archive was fetched by hand and placed at
// cacheDir/cifar-10-binary.tar.gz it is used without network access, and so
// is the pickled python version in cacheDir/cifar-10-batches-py (where
// torchvision's CIFAR10(root=cacheDir) keeps it; see LoadCIFAR10Pickled).
// Network failures give an error wrapping ErrOffline.
func CIFAR10(cacheDir string, opt DownloadOptions) (*Dataset, error) {
	if cacheDir == "" {
		d, err := DefaultCacheDir()
		if err != nil {
			return nil, err
		}
		cacheDir = d
	}
	if opt.URL == "" {
		opt.URL = CIFAR10URL
	}
	if opt.MD5 == "" {
		opt.MD5 = CIFAR10MD5
	}
	if opt.Context == nil {
		opt.Context = context.Background()
	}
	if opt.StallTimeout <= 0 {
		opt.StallTimeout = 60 * time.Second
	}
	if opt.Client == nil {
		opt.Client = defaultClient()
	}
	if opt.RecordsPerFile <= 0 {
		opt.RecordsPerFile = CIFARFileRecords
	}
	binDir := filepath.Join(cacheDir, cifarDirName)
	if _, err := os.Stat(binDir); err == nil {
		return loadCIFAR10Dir(binDir, opt.RecordsPerFile)
	}
	// The python version as torchvision keeps it (root=cacheDir) needs no download.
	if pyDir := filepath.Join(cacheDir, cifarPyDirName); IsCIFAR10Dir(pyDir) == "py" {
		return LoadCIFAR10Pickled(pyDir)
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, err
	}
	archive := filepath.Join(cacheDir, cifarArchiveName)
	if _, err := os.Stat(archive); err != nil {
		if err := download(opt, archive); err != nil {
			return nil, err
		}
	} else if sum, err := fileMD5(archive); err != nil {
		return nil, err
	} else if !strings.EqualFold(sum, opt.MD5) {
		return nil, fmt.Errorf("%s: MD5 %s, want %s (corrupt archive; delete it to download again)", archive, sum, opt.MD5)
	}
	if err := extractCIFAR(archive, binDir, opt.RecordsPerFile); err != nil {
		return nil, err
	}
	return loadCIFAR10Dir(binDir, opt.RecordsPerFile)
}

func defaultClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = 30 * time.Second
	tr.ResponseHeaderTimeout = 60 * time.Second
	return &http.Client{Transport: tr}
}

// download fetches opt.URL into dst (via dst.part) and verifies its MD5.
func download(opt DownloadOptions, dst string) error {
	part := dst + ".part"
	if err := fetchPart(opt, part); err != nil {
		return err
	}
	sum, err := fileMD5(part)
	if err != nil {
		return err
	}
	if !strings.EqualFold(sum, opt.MD5) {
		os.Remove(part)
		return fmt.Errorf("%s: downloaded file has MD5 %s, want %s (deleted; try again)", opt.URL, sum, opt.MD5)
	}
	return os.Rename(part, dst)
}

func fetchPart(opt DownloadOptions, part string) error {
	ctx, cancel := context.WithCancelCause(opt.Context)
	defer cancel(nil)

	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, opt.URL, nil)
	if err != nil {
		return err
	}
	if have > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
	}
	resp, err := opt.Client.Do(req)
	if err != nil {
		return netError(opt, part, err)
	}
	defer resp.Body.Close()

	total := int64(-1)
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		start, size, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != have {
			return fmt.Errorf("%s: unexpected Content-Range %q for a resume from byte %d", opt.URL, resp.Header.Get("Content-Range"), have)
		}
		total = size
	case resp.StatusCode == http.StatusOK:
		// Full content: (re)start from scratch.
		if have > 0 {
			if err := f.Truncate(0); err != nil {
				return err
			}
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return err
			}
			have = 0
		}
		total = resp.ContentLength
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && have > 0:
		// Most likely the .part is already complete; the checksum decides.
		return nil
	default:
		return fmt.Errorf("%s: HTTP %s", opt.URL, resp.Status)
	}

	// Abort if no data arrives for StallTimeout.
	stall := time.AfterFunc(opt.StallTimeout, func() {
		cancel(fmt.Errorf("%w: no data received for %v", os.ErrDeadlineExceeded, opt.StallTimeout))
	})
	defer stall.Stop()
	done := have
	if opt.Progress != nil {
		opt.Progress(done, total)
	}
	buf := make([]byte, 256<<10)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			stall.Reset(opt.StallTimeout)
			if _, err := f.Write(buf[:n]); err != nil {
				return err
			}
			done += int64(n)
			if opt.Progress != nil {
				opt.Progress(done, total)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if c := context.Cause(ctx); c != nil && opt.Context.Err() == nil {
				rerr = c
			}
			return fmt.Errorf("%s: download interrupted after %d bytes (run again to resume from %s): %w", opt.URL, done, part, netError(opt, part, rerr))
		}
	}
	if total >= 0 && done != total {
		return fmt.Errorf("%s: got %d bytes, want %d (run again to resume)", opt.URL, done, total)
	}
	return f.Close()
}

// netError wraps network-level failures in ErrOffline with instructions
// for a manual download.
func netError(opt DownloadOptions, part string, err error) error {
	if opt.Context.Err() != nil {
		return err
	}
	var ne net.Error
	var op *net.OpError
	var dns *net.DNSError
	offline := errors.As(err, &op) || errors.As(err, &dns) ||
		(errors.As(err, &ne) && ne.Timeout()) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENETUNREACH) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.ErrUnexpectedEOF)
	if !offline {
		return err
	}
	final := strings.TrimSuffix(part, ".part")
	return fmt.Errorf("%w: %v; to install by hand, download %s and save it as %s (MD5 %s)",
		ErrOffline, err, opt.URL, final, opt.MD5)
}

// parseContentRange parses "bytes start-end/size" (size may be "*").
func parseContentRange(s string) (start, size int64, ok bool) {
	s, found := strings.CutPrefix(s, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, sz, found := strings.Cut(s, "/")
	if !found {
		return 0, 0, false
	}
	a, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	size = -1
	if sz != "*" {
		if size, err = strconv.ParseInt(sz, 10, 64); err != nil {
			return 0, 0, false
		}
	}
	return start, size, true
}

func fileMD5(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := md5.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// extractCIFAR extracts the .bin files of the archive into a temporary
// directory next to binDir, validates them and renames it to binDir.
func extractCIFAR(archive, binDir string, records int) error {
	tmp, err := os.MkdirTemp(filepath.Dir(binDir), ".extract-"+filepath.Base(binDir)+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // no-op after a successful rename
	// untarBins validates sizes and labels before the directory is
	// published.
	if err := untarBins(archive, tmp, records); err != nil {
		return err
	}
	if err := os.Rename(tmp, binDir); err != nil {
		if _, serr := os.Stat(binDir); serr == nil {
			return nil // extracted concurrently by another process
		}
		return err
	}
	return nil
}

func untarBins(archive, dir string, records int) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("%s: %w", archive, err)
	}
	tr := tar.NewReader(gz)
	missing := map[string]bool{cifarTestFile: true}
	for _, n := range cifarTrainFiles {
		missing[n] = true
	}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", archive, err)
		}
		base := path.Base(hdr.Name)
		if hdr.Typeflag != tar.TypeReg || !missing[base] || path.Base(path.Dir(hdr.Name)) != cifarDirName {
			continue
		}
		name := archive + ": " + hdr.Name
		if hdr.Size != int64(records)*CIFARRecordBytes {
			return cifarSizeError(name, hdr.Size, records)
		}
		b, err := io.ReadAll(io.LimitReader(tr, hdr.Size))
		if err == nil && int64(len(b)) != hdr.Size {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if _, err := ParseCIFAR10(name, b, records); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, base), b, 0o644); err != nil {
			return err
		}
		delete(missing, base)
	}
	for _, n := range append(cifarTrainFiles, cifarTestFile) {
		if missing[n] {
			return fmt.Errorf("%s: no %s/%s in the archive", archive, cifarDirName, n)
		}
	}
	return nil
}
