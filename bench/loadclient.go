package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"time"
)

// loadClient is the load generators' HTTP/1.1 client: keep-alive
// connections to one server, each request written in one write, the
// answer's status read and its body skipped. It does what wrk does and no
// more, because on a 2-core machine the client shares the cores with the
// server it measures: net/http's Transport (two goroutines per connection,
// a request object and header maps per call) took about a third of the
// bench process's CPU in an ingest run. Every server in a run, the echo
// baseline included, is driven by this client.
type loadClient struct {
	host    string // host:port: dialled, and the Host header
	idle    chan *loadConn
	slots   chan struct{} // one per open connection, at most conns
	timeout time.Duration // per request, dial included
}

type loadConn struct {
	c   net.Conn
	r   *bufio.Reader
	req []byte // the request being written, reused
}

// newLoadClient is a client of base (http://host:port) holding at most
// conns connections.
func newLoadClient(base string, conns int) (*loadClient, error) {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("load client: %q is not an http://host:port URL", base)
	}
	return &loadClient{host: u.Host, idle: make(chan *loadConn, conns),
		slots: make(chan struct{}, conns), timeout: 30 * time.Second}, nil
}

// do sends one request for path (with its query) and reads the answer
// whole, so the connection can carry the next one. Status 0 is a
// transport error. A body is sent as application/json.
func (c *loadClient) do(ctx context.Context, method, path string, body []byte) (int, error) {
	conn, err := c.get(ctx)
	if err != nil {
		return 0, err
	}
	deadline := time.Now().Add(c.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	// A cancelled ctx ends the wait for the answer at once.
	stop := context.AfterFunc(ctx, func() { _ = conn.c.SetDeadline(time.Unix(1, 0)) })
	status, keep, err := conn.roundTrip(c.host, method, path, body, deadline)
	if !stop() && err == nil {
		keep = false // the deadline may have been cut short after the answer
	}
	if err != nil || !keep {
		_ = conn.c.Close()
		<-c.slots
		return status, err
	}
	c.idle <- conn
	return status, nil
}

// get takes an idle connection, dials a new one while fewer than conns
// are open, or waits for one to come back.
func (c *loadClient) get(ctx context.Context) (*loadConn, error) {
	select {
	case conn := <-c.idle:
		return conn, nil
	default:
	}
	select {
	case conn := <-c.idle:
		return conn, nil
	case c.slots <- struct{}{}:
		d := net.Dialer{Timeout: c.timeout}
		nc, err := d.DialContext(ctx, "tcp", c.host)
		if err != nil {
			<-c.slots
			return nil, err
		}
		return &loadConn{c: nc, r: bufio.NewReaderSize(nc, 16<<10)}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// close closes the idle connections.
func (c *loadClient) close() {
	for {
		select {
		case conn := <-c.idle:
			_ = conn.c.Close()
			<-c.slots
		default:
			return
		}
	}
}

// roundTrip writes one request and reads its answer; keep says whether
// the connection may carry another.
func (lc *loadConn) roundTrip(host, method, path string, body []byte, deadline time.Time) (status int, keep bool, err error) {
	if err := lc.c.SetDeadline(deadline); err != nil {
		return 0, false, err
	}
	b := append(lc.req[:0], method...)
	b = append(b, ' ')
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\n"...)
	if body != nil {
		b = append(b, "Content-Type: application/json\r\nContent-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	b = append(b, body...)
	lc.req = b
	if _, err := lc.c.Write(b); err != nil {
		return 0, false, err
	}
	return readAnswer(lc.r, method == "HEAD")
}

// readAnswer reads a response: the status line, the headers, and the body
// by Content-Length, chunked transfer coding or (neither) to the end of
// the connection.
func readAnswer(r *bufio.Reader, head bool) (status int, keep bool, err error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return 0, false, fmt.Errorf("status line: %w", err)
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, false, fmt.Errorf("status line %q", bytes.TrimSpace(line))
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, fmt.Errorf("status line %q", bytes.TrimSpace(line))
	}
	keep = line[7] == '1' // HTTP/1.1 keeps the connection unless told otherwise
	length, chunked := int64(-1), false
	for {
		h, err := r.ReadSlice('\n')
		if err != nil {
			return status, false, fmt.Errorf("headers: %w", err)
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return status, false, fmt.Errorf("header %q", h)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.ParseInt(string(value), 10, 64); err != nil || length < 0 {
				return status, false, fmt.Errorf("Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			if bytes.EqualFold(value, []byte("close")) {
				keep = false
			}
		}
	}
	switch {
	case head || status == 204 || status == 304 || status/100 == 1:
		return status, keep, nil
	case chunked:
		return status, keep, skipChunked(r)
	case length >= 0:
		if _, err := r.Discard(int(length)); err != nil {
			return status, false, fmt.Errorf("body: %w", err)
		}
		return status, keep, nil
	default: // the body ends with the connection
		if _, err := io.Copy(io.Discard, r); err != nil {
			return status, false, fmt.Errorf("body: %w", err)
		}
		return status, false, nil
	}
}

// skipChunked reads a chunked body and its trailers.
func skipChunked(r *bufio.Reader) error {
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return fmt.Errorf("chunk size: %w", err)
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("chunk size %q", bytes.TrimSpace(line))
		}
		if n == 0 {
			break
		}
		if _, err := r.Discard(int(n)); err != nil {
			return fmt.Errorf("chunk: %w", err)
		}
		if crlf, err := r.ReadSlice('\n'); err != nil || len(bytes.TrimRight(crlf, "\r\n")) != 0 {
			return errors.New("chunk: no CRLF after its data")
		}
	}
	for { // trailers, up to the empty line
		line, err := r.ReadSlice('\n')
		if err != nil {
			return fmt.Errorf("trailers: %w", err)
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			return nil
		}
	}
}
