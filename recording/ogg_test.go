package recording

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
)

// oggPage is one parsed Ogg page.
type oggPage struct {
	flags   byte
	granule uint64
	serial  uint32
	seq     uint32
	packets [][]byte // complete packets ending on this page
}

// parseOgg parses an Ogg stream, checking every page's capture pattern,
// version and CRC.
func parseOgg(b []byte) ([]oggPage, error) {
	var pages []oggPage
	var partial []byte
	for len(b) > 0 {
		if len(b) < 27 || string(b[:4]) != "OggS" || b[4] != 0 {
			return nil, fmt.Errorf("page %d: bad header", len(pages))
		}
		nseg := int(b[26])
		if len(b) < 27+nseg {
			return nil, fmt.Errorf("page %d: short segment table", len(pages))
		}
		size := 0
		for _, l := range b[27 : 27+nseg] {
			size += int(l)
		}
		end := 27 + nseg + size
		if len(b) < end {
			return nil, fmt.Errorf("page %d: short body", len(pages))
		}
		page := append([]byte(nil), b[:end]...)
		want := binary.LittleEndian.Uint32(page[22:])
		binary.LittleEndian.PutUint32(page[22:], 0)
		if got := oggCRC(0, page); got != want {
			return nil, fmt.Errorf("page %d: crc %08x, want %08x", len(pages), got, want)
		}
		p := oggPage{flags: b[5], granule: binary.LittleEndian.Uint64(b[6:]),
			serial: binary.LittleEndian.Uint32(b[14:]), seq: binary.LittleEndian.Uint32(b[18:])}
		body := b[27+nseg : end]
		for _, l := range b[27 : 27+nseg] {
			partial = append(partial, body[:l]...)
			body = body[l:]
			if l < 255 {
				p.packets = append(p.packets, partial)
				partial = nil
			}
		}
		pages = append(pages, p)
		b = b[end:]
	}
	if len(pages) == 0 {
		return nil, errors.New("no pages")
	}
	return pages, nil
}

func TestOggOpusWriter(t *testing.T) {
	var buf bytes.Buffer
	w, err := newOggOpusWriter(&buf, 2)
	if err != nil {
		t.Fatal(err)
	}
	frame := []byte{0xfc, 1, 2, 3}
	big := append([]byte{0xfc}, bytes.Repeat([]byte{7}, 600)...) // spans 3 lacing values
	ts := uint32(4_294_000_000)                                  // wraps around during the stream
	for i := range 50 {
		p := frame
		if i == 10 {
			p = big
		}
		if err := w.WritePacket(p, ts); err != nil {
			t.Fatal(err)
		}
		ts += 960
		if i == 29 {
			ts += 48000 // one second of muted silence: no packets, the timeline keeps it
		}
	}
	if err := w.WritePacket(nil, ts); err != nil { // empty payloads are skipped
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Packets() != 50 {
		t.Errorf("Packets = %d", w.Packets())
	}
	pages, err := parseOgg(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 52 {
		t.Fatalf("%d pages, want 2 headers + 50 packets", len(pages))
	}
	head := pages[0].packets[0]
	if pages[0].flags != 0x02 || string(head[:8]) != "OpusHead" || head[9] != 2 ||
		binary.LittleEndian.Uint16(head[10:]) != oggPreSkip || binary.LittleEndian.Uint32(head[12:]) != 48000 {
		t.Errorf("ID header page: flags %x, % x", pages[0].flags, head)
	}
	if string(pages[1].packets[0][:8]) != "OpusTags" || pages[1].granule != 0 {
		t.Errorf("comment header page: %+v", pages[1])
	}
	for i, p := range pages {
		if p.seq != uint32(i) || p.serial != pages[0].serial {
			t.Errorf("page %d: seq %d serial %x", i, p.seq, p.serial)
		}
	}
	if got := pages[12].packets[0]; !bytes.Equal(got, big) {
		t.Errorf("the 600-byte packet came back as %d bytes", len(got))
	}
	// Granule positions: pre-skip + samples through the end of each packet.
	if g := pages[2].granule; g != oggPreSkip+960 {
		t.Errorf("first audio page granule %d", g)
	}
	if g := pages[31].granule; g != oggPreSkip+30*960 {
		t.Errorf("granule before the gap %d", g)
	}
	if g := pages[32].granule; g != oggPreSkip+31*960+48000 {
		t.Errorf("granule after the gap %d", g)
	}
	last := pages[len(pages)-1]
	if last.flags != 0x04 || last.granule != oggPreSkip+50*960+48000 {
		t.Errorf("last page: flags %x granule %d", last.flags, last.granule)
	}
	if w.Samples() != 50*960+48000 {
		t.Errorf("Samples = %d", w.Samples())
	}
}

func TestOggOpusWriterEmpty(t *testing.T) {
	var buf bytes.Buffer
	w, err := newOggOpusWriter(&buf, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	pages, err := parseOgg(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 3 || pages[2].flags != 0x04 || pages[0].packets[0][9] != 1 {
		t.Fatalf("empty stream: %+v", pages)
	}
}
