package transport

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The format of a link's stream. The sender opens the stream and writes
//
//	header: magic "MSL1" ‖ session uint64
//	frames: seq uint64 ‖ tag uint64 ‖ length uint32 ‖ payload (length bytes)
//
// and the receiver writes back acknowledgements on the same stream:
//
//	ack:    seq uint64 (the highest sequence number delivered, cumulative)
//
// All integers are big-endian. A frame's length is checked against the
// receiver's MaxMessageSize before anything is allocated for it.

const (
	streamMagic      = "MSL1"
	streamHeaderSize = len(streamMagic) + 8
	frameHeaderSize  = 8 + 8 + 4
	ackSize          = 8
)

// Errors of the stream format; a stream that produces one is closed.
var (
	errBadMagic      = errors.New("transport: stream does not start with the link magic")
	errFrameTooLarge = errors.New("transport: frame over the size limit")
)

// writeStreamHeader writes the header that opens a link's stream.
func writeStreamHeader(w io.Writer, session uint64) error {
	var b [streamHeaderSize]byte
	copy(b[:], streamMagic)
	binary.BigEndian.PutUint64(b[len(streamMagic):], session)
	_, err := w.Write(b[:])
	return err
}

// readStreamHeader reads the header of a link's stream and returns the
// sender's session.
func readStreamHeader(r io.Reader) (uint64, error) {
	var b [streamHeaderSize]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, fmt.Errorf("transport: reading stream header: %w", err)
	}
	if string(b[:len(streamMagic)]) != streamMagic {
		return 0, errBadMagic
	}
	return binary.BigEndian.Uint64(b[len(streamMagic):]), nil
}

// writeFrame writes one data frame.
func writeFrame(w io.Writer, f outFrame) error {
	var b [frameHeaderSize]byte
	binary.BigEndian.PutUint64(b[0:], f.seq)
	binary.BigEndian.PutUint64(b[8:], f.tag)
	binary.BigEndian.PutUint32(b[16:], uint32(len(f.data)))
	if _, err := w.Write(b[:]); err != nil {
		return err
	}
	_, err := w.Write(f.data)
	return err
}

// readFrame reads one data frame whose payload is at most maxSize bytes. An
// oversized frame is refused (errFrameTooLarge) before its payload is
// allocated or read.
func readFrame(r io.Reader, maxSize int) (outFrame, error) {
	var b [frameHeaderSize]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return outFrame{}, err
	}
	n := binary.BigEndian.Uint32(b[16:])
	if uint64(n) > uint64(maxSize) {
		return outFrame{}, fmt.Errorf("%w: %d bytes, limit %d", errFrameTooLarge, n, maxSize)
	}
	f := outFrame{
		seq:  binary.BigEndian.Uint64(b[0:]),
		tag:  binary.BigEndian.Uint64(b[8:]),
		data: make([]byte, n),
	}
	if _, err := io.ReadFull(r, f.data); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return outFrame{}, fmt.Errorf("transport: reading a %d-byte frame: %w", n, err)
	}
	return f, nil
}

// writeAck writes one acknowledgement.
func writeAck(w io.Writer, seq uint64) error {
	var b [ackSize]byte
	binary.BigEndian.PutUint64(b[:], seq)
	_, err := w.Write(b[:])
	return err
}

// readAck reads one acknowledgement.
func readAck(r io.Reader) (uint64, error) {
	var b [ackSize]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint64(b[:]), nil
}
