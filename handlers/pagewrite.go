package handlers

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/crc32"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// A page is written to the socket once, with its Content-Length: it is
// rendered into a pooled buffer, then gzipped for clients that accept it.
//
// The gzip body is one deflate stream made of independently compressed
// segments, each ended by a sync flush (byte-aligned, non-final blocks),
// then an empty final block. No segment refers back into another, so a
// segment that is the same for every reader (the report body) is
// compressed once and copied in, and only the per-person parts are
// compressed per request.

// segment is a part of a page; deflated, when set, is plain compressed and
// sync-flushed ahead of time. A recurring segment (one person's layout
// around a shared body) is kept compressed in the pageWriter's small cache.
type segment struct {
	plain, deflated []byte
	recurring       bool
}

// maxRecurring bounds the cache of compressed recurring segments (a few KB
// each). When full it is emptied: cheaper than tracking use, and it only
// costs compressing again.
const maxRecurring = 1024

// minGzip is the size under which gzip is not worth its header and CPU.
const minGzip = 1024

// gzipHeader is a fixed gzip member header: deflate, no name, no mtime,
// OS unknown.
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}

// pageWriter owns the pools behind single-write, optionally gzipped pages.
type pageWriter struct {
	buffers  sync.Pool // *bytes.Buffer
	deflates sync.Pool // *flate.Writer at BestSpeed

	mu        sync.Mutex
	recurring map[string][]byte // plain → deflated, sync-flushed
}

func (pw *pageWriter) buffer() *bytes.Buffer {
	if b, ok := pw.buffers.Get().(*bytes.Buffer); ok {
		b.Reset()
		return b
	}
	return new(bytes.Buffer)
}

// release returns b to the pool unless a rare huge page grew it.
func (pw *pageWriter) release(b *bytes.Buffer) {
	if b.Cap() <= 1<<20 {
		pw.buffers.Put(b)
	}
}

// write sends the segments as the response body: gzipped when the client
// accepts it and the page is big enough, else as they are.
func (pw *pageWriter) write(w http.ResponseWriter, r *http.Request, status int, segs ...segment) {
	size := 0
	for _, s := range segs {
		size += len(s.plain)
	}
	h := w.Header()
	h.Add("Vary", "Accept-Encoding")
	out := pw.buffer()
	defer pw.release(out)
	if size >= minGzip && acceptsGzip(r) {
		pw.gzip(out, segs, size)
		h.Set("Content-Encoding", "gzip")
	} else {
		out.Grow(size)
		for _, s := range segs {
			out.Write(s.plain)
		}
	}
	h.Set("Content-Length", strconv.Itoa(out.Len()))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(out.Bytes())
	}
}

// gzip writes one gzip member holding the segments to out.
func (pw *pageWriter) gzip(out *bytes.Buffer, segs []segment, size int) {
	fw, _ := pw.deflates.Get().(*flate.Writer)
	if fw == nil {
		fw, _ = flate.NewWriter(out, flate.BestSpeed) // BestSpeed is a valid level
	}
	defer pw.deflates.Put(fw)
	out.Write(gzipHeader)
	var crc uint32
	for _, s := range segs {
		crc = crc32.Update(crc, crc32.IEEETable, s.plain)
		if s.deflated != nil {
			out.Write(s.deflated)
			continue
		}
		if s.recurring {
			pw.mu.Lock()
			d, ok := pw.recurring[string(s.plain)]
			pw.mu.Unlock()
			if ok {
				out.Write(d)
				continue
			}
		}
		start := out.Len()
		fw.Reset(out)
		fw.Write(s.plain)
		fw.Flush()
		if s.recurring {
			pw.remember(s.plain, out.Bytes()[start:])
		}
	}
	fw.Reset(out)
	fw.Close() // the empty final block
	out.Write(binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, crc), uint32(size)))
}

func (pw *pageWriter) remember(plain, deflated []byte) {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	if pw.recurring == nil || len(pw.recurring) >= maxRecurring {
		pw.recurring = make(map[string][]byte)
	}
	pw.recurring[string(plain)] = bytes.Clone(deflated)
}

// deflateShared compresses a segment served to many readers, harder than
// per-request parts since it is done once.
func deflateShared(plain []byte) []byte {
	var b bytes.Buffer
	fw, _ := flate.NewWriter(&b, flate.BestCompression) // a valid level
	fw.Write(plain)
	fw.Flush()
	return b.Bytes()
}

// acceptsGzip reports whether Accept-Encoding lists gzip (or *) without
// q=0.
func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			name = strings.TrimSpace(name)
			if name != "gzip" && name != "*" {
				continue
			}
			q := strings.ReplaceAll(params, " ", "")
			if q == "q=0" || strings.HasPrefix(q, "q=0.") && strings.Trim(q[4:], "0") == "" {
				return false
			}
			return true
		}
	}
	return false
}
