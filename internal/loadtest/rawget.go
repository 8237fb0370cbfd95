package loadtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"time"
)

// rawGetter sends one prepared GET after another over a single keep-alive
// connection and reads each answer with the least work that HTTP/1.1
// allows. A load generator on the same two cores as the server takes CPU
// the server would otherwise use; net/http's client costs several times
// what this does per request, and that showed up as the server's latency.
type rawGetter struct {
	addr    string
	request []byte
	timeout time.Duration

	conn net.Conn
	rd   *bufio.Reader
}

// newRawGetter prepares GET u with the given extra header lines (each
// "Name: value").
func newRawGetter(u *url.URL, timeout time.Duration, headers ...string) *rawGetter {
	var b bytes.Buffer
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: reportgate-loadtest\r\n", u.RequestURI(), u.Host)
	for _, h := range headers {
		b.WriteString(h)
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	return &rawGetter{addr: host, request: b.Bytes(), timeout: timeout}
}

// get sends the request and returns the status code once the whole body
// has been read.
func (g *rawGetter) get() (int, error) {
	if g.conn == nil {
		c, err := net.DialTimeout("tcp", g.addr, g.timeout)
		if err != nil {
			return 0, err
		}
		g.conn, g.rd = c, bufio.NewReaderSize(c, 64<<10)
	}
	g.conn.SetDeadline(time.Now().Add(g.timeout))
	if _, err := g.conn.Write(g.request); err != nil {
		g.close()
		return 0, err
	}
	status, keep, err := g.readResponse()
	if err != nil || !keep {
		g.close()
	}
	return status, err
}

func (g *rawGetter) close() {
	if g.conn != nil {
		g.conn.Close()
		g.conn, g.rd = nil, nil
	}
}

var errMalformed = errors.New("malformed HTTP response")

func (g *rawGetter) readResponse() (status int, keepAlive bool, err error) {
	line, err := g.rd.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, false, errMalformed
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, errMalformed
	}
	length, chunked, keepAlive := -1, false, true
	for {
		line, err := g.rd.ReadSlice('\n')
		if err != nil {
			return 0, false, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, false, errMalformed
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return 0, false, errMalformed
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			keepAlive = !bytes.EqualFold(value, []byte("close"))
		}
	}
	switch {
	case chunked:
		err = g.discardChunks()
	case length >= 0:
		_, err = g.rd.Discard(length)
	default:
		// No length: the body runs to the end of the connection.
		_, err = io.Copy(io.Discard, g.rd)
		keepAlive = false
	}
	return status, keepAlive, err
}

func (g *rawGetter) discardChunks() error {
	for {
		line, err := g.rd.ReadSlice('\n')
		if err != nil {
			return err
		}
		sizeText, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		size, err := strconv.ParseInt(string(sizeText), 16, 64)
		if err != nil || size < 0 {
			return errMalformed
		}
		if size == 0 {
			// Trailers, then the empty line.
			for {
				line, err := g.rd.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					return nil
				}
			}
		}
		if _, err := g.rd.Discard(int(size) + 2); err != nil {
			return err
		}
	}
}
