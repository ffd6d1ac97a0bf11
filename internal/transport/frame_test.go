package transport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := writeStreamHeader(&buf, 0xfeedface); err != nil {
		t.Fatal(err)
	}
	frames := []outFrame{{seq: 1, tag: 9, data: []byte("hello")}, {seq: 2, tag: 10, data: []byte{}}}
	for _, f := range frames {
		if err := writeFrame(&buf, f); err != nil {
			t.Fatal(err)
		}
	}
	session, err := readStreamHeader(&buf)
	if err != nil || session != 0xfeedface {
		t.Fatalf("header: session %x, %v", session, err)
	}
	for _, want := range frames {
		got, err := readFrame(&buf, 5)
		if err != nil {
			t.Fatal(err)
		}
		if got.seq != want.seq || got.tag != want.tag || !bytes.Equal(got.data, want.data) {
			t.Fatalf("read %+v, want %+v", got, want)
		}
	}
	if _, err := readFrame(&buf, 5); !errors.Is(err, io.EOF) {
		t.Fatalf("read past the end: %v, want EOF", err)
	}
	buf.Reset()
	if err := writeAck(&buf, 77); err != nil {
		t.Fatal(err)
	}
	if seq, err := readAck(&buf); err != nil || seq != 77 {
		t.Fatalf("ack %d, %v", seq, err)
	}
}

// headerOnly yields a frame header and then fails the test if anything more
// is read: an oversized frame must be refused before its payload is touched.
type headerOnly struct {
	t   *testing.T
	hdr []byte
}

func (h *headerOnly) Read(p []byte) (int, error) {
	if len(h.hdr) == 0 {
		h.t.Fatal("payload of an oversized frame was read")
	}
	n := copy(p, h.hdr)
	h.hdr = h.hdr[n:]
	return n, nil
}

func TestReadFrameRefusesOversizedBeforeReading(t *testing.T) {
	hdr := make([]byte, frameHeaderSize)
	binary.BigEndian.PutUint32(hdr[16:], 0xFFFFFFFF)
	_, err := readFrame(&headerOnly{t: t, hdr: hdr}, DefaultMaxMessageSize)
	if !errors.Is(err, errFrameTooLarge) {
		t.Fatalf("4 GiB frame: %v, want errFrameTooLarge", err)
	}
	binary.BigEndian.PutUint32(hdr[16:], 6)
	if _, err := readFrame(&headerOnly{t: t, hdr: hdr}, 5); !errors.Is(err, errFrameTooLarge) {
		t.Fatalf("6-byte frame over a 5-byte limit: %v, want errFrameTooLarge", err)
	}
}

func TestReadFrameTruncated(t *testing.T) {
	var buf bytes.Buffer
	if err := writeFrame(&buf, outFrame{seq: 1, tag: 1, data: []byte("abcdef")}); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	for _, n := range []int{frameHeaderSize, len(b) - 1} {
		if _, err := readFrame(bytes.NewReader(b[:n]), 100); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("frame cut at %d: %v, want ErrUnexpectedEOF", n, err)
		}
	}
}

func TestReadStreamHeaderBadMagic(t *testing.T) {
	b := append([]byte("XXXX"), make([]byte, 8)...)
	if _, err := readStreamHeader(bytes.NewReader(b)); !errors.Is(err, errBadMagic) {
		t.Fatalf("bad magic: %v", err)
	}
	if _, err := readStreamHeader(bytes.NewReader([]byte("MSL"))); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short header: %v", err)
	}
}

// FuzzReadFrame: any input either fails or yields a frame within the limit
// that re-encodes to the bytes read.
func FuzzReadFrame(f *testing.F) {
	var buf bytes.Buffer
	_ = writeFrame(&buf, outFrame{seq: 3, tag: 4, data: []byte("xyz")})
	f.Add(buf.Bytes())
	f.Add(make([]byte, frameHeaderSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		fr, err := readFrame(r, 64)
		if err != nil {
			return
		}
		if len(fr.data) > 64 {
			t.Fatalf("frame of %d bytes over the limit", len(fr.data))
		}
		var out bytes.Buffer
		_ = writeFrame(&out, fr)
		if !bytes.Equal(out.Bytes(), b[:len(b)-r.Len()]) {
			t.Fatal("frame does not re-encode to its bytes")
		}
	})
}
