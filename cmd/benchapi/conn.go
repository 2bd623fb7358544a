package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// loadConn is one worker's keep-alive HTTP/1.1 connection to one sidecar:
// it writes requests it formats itself and reads the responses' status and
// body length, so that the load generator, which shares the machine's cores
// with the processes it measures, spends little of them (net/http's client
// costs several times more per request). A failed connection is dialled
// again on the next request.
type loadConn struct {
	addr string // host:port
	c    net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	body []byte // the last response's body
}

func newLoadConn(base string) *loadConn {
	return &loadConn{addr: base[len("http://"):]}
}

// do sends one request with the API key and returns the response's status
// and body (valid until the next call).
func (l *loadConn) do(method, path string, body []byte) (int, []byte, error) {
	if l.c == nil {
		c, err := net.DialTimeout("tcp", l.addr, 10*time.Second)
		if err != nil {
			return 0, nil, err
		}
		l.c, l.r, l.w = c, bufio.NewReaderSize(c, 16<<10), bufio.NewWriterSize(c, 4<<10)
	}
	status, b, err := l.roundTrip(method, path, body)
	if err != nil {
		_ = l.c.Close()
		l.c = nil
	}
	return status, b, err
}

func (l *loadConn) roundTrip(method, path string, body []byte) (int, []byte, error) {
	_ = l.c.SetDeadline(time.Now().Add(30 * time.Second))
	w := l.w
	w.WriteString(method)
	w.WriteByte(' ')
	w.WriteString(path)
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(l.addr)
	w.WriteString("\r\nAuthorization: Bearer " + apiSecret + "\r\n")
	if body != nil {
		w.WriteString("Content-Type: application/json\r\nContent-Length: ")
		w.WriteString(strconv.Itoa(len(body)))
		w.WriteString("\r\n")
	}
	w.WriteString("\r\n")
	w.Write(body)
	if err := w.Flush(); err != nil {
		return 0, nil, err
	}

	line, err := l.line()
	if err != nil {
		return 0, nil, err
	}
	// HTTP/1.1 201 Created
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, nil, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, nil, fmt.Errorf("bad status line %q", line)
	}
	length, chunked, closing := -1, false, false
	for {
		h, err := l.line()
		if err != nil {
			return 0, nil, err
		}
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return 0, nil, fmt.Errorf("bad header %q", h)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil {
				return 0, nil, fmt.Errorf("bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			closing = bytes.EqualFold(value, []byte("close"))
		}
	}
	l.body = l.body[:0]
	switch {
	case chunked:
		err = l.chunks()
	case length >= 0:
		l.body = append(l.body, make([]byte, length)...)
		_, err = io.ReadFull(l.r, l.body)
	default:
		err = errors.New("response without a length")
	}
	if err != nil {
		return 0, nil, err
	}
	if closing {
		_ = l.c.Close()
		l.c = nil
	}
	return status, l.body, nil
}

// close closes the connection, if open.
func (l *loadConn) close() {
	if l.c != nil {
		_ = l.c.Close()
		l.c = nil
	}
}

// line reads a CRLF-terminated line, without its CRLF.
func (l *loadConn) line() ([]byte, error) {
	b, err := l.r.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	return bytes.TrimRight(b, "\r\n"), nil
}

// chunks reads a chunked body into l.body.
func (l *loadConn) chunks() error {
	for {
		line, err := l.line()
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(line, []byte(";"))
		n, err := strconv.ParseInt(string(size), 16, 32)
		if err != nil {
			return fmt.Errorf("bad chunk size %q", line)
		}
		if n == 0 {
			for { // trailers, then the blank line
				t, err := l.line()
				if err != nil || len(t) == 0 {
					return err
				}
			}
		}
		start := len(l.body)
		l.body = append(l.body, make([]byte, n)...)
		if _, err := io.ReadFull(l.r, l.body[start:]); err != nil {
			return err
		}
		if _, err := l.line(); err != nil {
			return err
		}
	}
}
