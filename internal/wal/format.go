package wal

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"
)

// The on-disk format; the package comment describes it.
const (
	magic            = "MASSWAL1"
	version          = 1
	headerSize       = 8 + 4     // magic, then the version (u32 LE)
	recordHeaderSize = 4 + 8 + 4 // data length (u32 LE), epoch (u64 LE), CRC-32C (u32 LE)
	segmentSuffix    = ".wal"
	segmentNameLen   = 16 + len(segmentSuffix)
)

// castagnoli is the CRC-32C table of record checksums.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// segmentHeader returns the bytes every segment starts with.
func segmentHeader() []byte {
	h := make([]byte, headerSize)
	copy(h, magic)
	binary.LittleEndian.PutUint32(h[len(magic):], version)
	return h
}

// segmentName returns the file name of the segment with sequence number seq.
func segmentName(seq uint64) string {
	return fmt.Sprintf("%016x%s", seq, segmentSuffix)
}

// parseSegmentName returns the sequence number of a segment's file name, and
// false for any other name (uppercase hex included: names round-trip).
func parseSegmentName(name string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, segmentSuffix)
	if !ok || len(name) != segmentNameLen {
		return 0, false
	}
	seq, err := strconv.ParseUint(digits, 16, 64)
	if err != nil || segmentName(seq) != name {
		return 0, false
	}
	return seq, true
}

// appendRecord appends the encoding of one record to buf.
func appendRecord(buf []byte, epoch uint64, data []byte) []byte {
	start := len(buf)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(data)))
	buf = binary.LittleEndian.AppendUint64(buf, epoch)
	buf = binary.LittleEndian.AppendUint32(buf, 0) // the checksum, set below
	buf = append(buf, data...)
	sum := checksum(buf[start+4:start+12], data)
	binary.LittleEndian.PutUint32(buf[start+12:], sum)
	return buf
}

// checksum is a record's CRC-32C: over its encoded epoch, then its data.
func checksum(epoch, data []byte) uint32 {
	return crc32.Update(crc32.Checksum(epoch, castagnoli), castagnoli, data)
}

// flaw is where and why a segment's bytes stop being a valid log.
type flaw struct {
	off int64
	why string
	// fatal flaws are not what a torn write leaves: an error even in the
	// last segment.
	fatal bool
}

// parsed is what parseSegment found in a segment's bytes.
type parsed struct {
	records  []Record
	maxEpoch uint64
	end      int64 // length of the valid prefix
	flaw     *flaw // why parsing stopped at end before the end of the bytes, or nil
}

// parseSegment parses a segment's bytes up to their end or the first flaw.
// Returned records' Data alias b.
func parseSegment(b []byte, maxRecord int) parsed {
	var p parsed
	if p.flaw = checkHeader(b); p.flaw != nil {
		return p
	}
	off := headerSize
	for off < len(b) {
		rec, n, f := parseRecord(b[off:], maxRecord)
		if f != nil {
			f.off = int64(off)
			p.flaw = f
			break
		}
		p.records = append(p.records, rec)
		p.maxEpoch = max(p.maxEpoch, rec.Epoch)
		off += n
	}
	p.end = int64(off)
	return p
}

// checkHeader checks a segment's header. A wrong or short header is what a
// crash while creating the segment leaves; a right magic with another
// version is a format this code does not read.
func checkHeader(b []byte) *flaw {
	if len(b) < headerSize {
		return &flaw{why: fmt.Sprintf("short segment header (%d of %d bytes)", len(b), headerSize)}
	}
	if string(b[:len(magic)]) != magic {
		return &flaw{why: fmt.Sprintf("bad magic %q (want %q)", b[:len(magic)], magic)}
	}
	if v := binary.LittleEndian.Uint32(b[len(magic):]); v != version {
		return &flaw{why: fmt.Sprintf("unsupported version %d (want %d)", v, version), fatal: true}
	}
	return nil
}

// parseRecord parses the record at the start of b and returns it with its
// encoded length, or the flaw that stops it.
func parseRecord(b []byte, maxRecord int) (Record, int, *flaw) {
	if len(b) < recordHeaderSize {
		return Record{}, 0, &flaw{why: fmt.Sprintf("short record header (%d of %d bytes)", len(b), recordHeaderSize)}
	}
	n := int64(binary.LittleEndian.Uint32(b))
	if left := int64(len(b) - recordHeaderSize); n > left {
		return Record{}, 0, &flaw{why: fmt.Sprintf("record length %d runs past the end of the file (%d bytes left)", n, left)}
	}
	end := recordHeaderSize + int(n)
	data := b[recordHeaderSize:end:end]
	if sum := binary.LittleEndian.Uint32(b[12:]); checksum(b[4:12], data) != sum {
		return Record{}, 0, &flaw{why: "record checksum mismatch"}
	}
	if n > int64(maxRecord) {
		// The checksum holds: a real record, not a torn one. Cutting it would
		// lose data that was synced (MaxRecord was lowered since it was written).
		return Record{}, 0, &flaw{why: fmt.Sprintf("record of %d bytes is over MaxRecord (%d bytes)", n, maxRecord), fatal: true}
	}
	return Record{Epoch: binary.LittleEndian.Uint64(b[4:]), Data: data}, end, nil
}
