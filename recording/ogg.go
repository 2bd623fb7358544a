package recording

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
)

// oggOpusWriter writes an Ogg Opus stream (RFC 7845) from Opus RTP payloads,
// one packet per page. Granule positions follow the RTP timestamps (48 kHz
// for Opus) from the first packet, so a gap in RTP (a muted or silent
// participant) keeps its place in the timeline. The last packet is held
// back so that Close can flag its page as the end of the stream.
type oggOpusWriter struct {
	w        *bufio.Writer
	serial   uint32
	seq      uint32
	started  bool
	firstTS  uint32
	granule  uint64 // of the last packet written or held
	held     []byte // the last packet, not written yet
	packets  int
	closed   bool
	channels int
}

// oggPreSkip is the pre-skip the ID header announces: 80 ms, as RFC 7845
// recommends for a stream that starts at an arbitrary point.
const oggPreSkip = 3840

func newOggOpusWriter(w io.Writer, channels int) (*oggOpusWriter, error) {
	if channels < 1 || channels > 2 {
		channels = 2
	}
	o := &oggOpusWriter{w: bufio.NewWriter(w), serial: rand.Uint32(), channels: channels}
	head := make([]byte, 19)
	copy(head, "OpusHead")
	head[8] = 1 // version
	head[9] = byte(channels)
	binary.LittleEndian.PutUint16(head[10:], oggPreSkip)
	binary.LittleEndian.PutUint32(head[12:], 48000) // input sample rate
	// head[16:18] output gain 0, head[18] mapping family 0
	if err := o.page(head, 0x02, 0); err != nil {
		return nil, err
	}
	vendor := "rtk-sidecar"
	tags := make([]byte, 8+4+len(vendor)+4)
	copy(tags, "OpusTags")
	binary.LittleEndian.PutUint32(tags[8:], uint32(len(vendor)))
	copy(tags[12:], vendor)
	if err := o.page(tags, 0, 0); err != nil {
		return nil, err
	}
	return o, nil
}

// WritePacket adds one Opus packet with RTP timestamp ts.
func (o *oggOpusWriter) WritePacket(payload []byte, ts uint32) error {
	if o.closed {
		return errors.New("ogg: write after close")
	}
	if len(payload) == 0 {
		return nil
	}
	if !o.started {
		o.started, o.firstTS = true, ts
	}
	end := oggPreSkip + uint64(ts-o.firstTS) + uint64(opusSamples(payload))
	if end < o.granule { // reordered: keep granule positions monotonic
		end = o.granule
	}
	if o.held != nil {
		if err := o.page(o.held, 0, o.granule); err != nil {
			return err
		}
	}
	o.held = append(o.held[:0], payload...)
	o.granule = end
	o.packets++
	return nil
}

// Packets returns how many packets were written.
func (o *oggOpusWriter) Packets() int { return o.packets }

// Duration returns the stream's length in 48 kHz samples (without pre-skip).
func (o *oggOpusWriter) Samples() uint64 {
	if o.granule < oggPreSkip {
		return 0
	}
	return o.granule - oggPreSkip
}

// Close writes the last page, flagged end of stream, and flushes. It does
// not close the underlying writer.
func (o *oggOpusWriter) Close() error {
	if o.closed {
		return nil
	}
	o.closed = true
	if err := o.page(o.held, 0x04, o.granule); err != nil {
		return err
	}
	return o.w.Flush()
}

// page writes one Ogg page holding packet (which may be empty).
func (o *oggOpusWriter) page(packet []byte, flags byte, granule uint64) error {
	nseg := len(packet)/255 + 1
	h := make([]byte, 27+nseg)
	copy(h, "OggS")
	h[4] = 0 // version
	h[5] = flags
	binary.LittleEndian.PutUint64(h[6:], granule)
	binary.LittleEndian.PutUint32(h[14:], o.serial)
	binary.LittleEndian.PutUint32(h[18:], o.seq)
	o.seq++
	h[26] = byte(nseg)
	for i := 0; i < nseg-1; i++ {
		h[27+i] = 255
	}
	h[27+nseg-1] = byte(len(packet) % 255)
	crc := oggCRC(0, h)
	crc = oggCRC(crc, packet)
	binary.LittleEndian.PutUint32(h[22:], crc)
	if _, err := o.w.Write(h); err != nil {
		return err
	}
	_, err := o.w.Write(packet)
	return err
}

var oggCRCTable = func() (t [256]uint32) {
	for i := range t {
		r := uint32(i) << 24
		for range 8 {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04c11db7
			} else {
				r <<= 1
			}
		}
		t[i] = r
	}
	return t
}()

// oggCRC continues the Ogg CRC-32 (polynomial 0x04c11db7, no reflection) over b.
func oggCRC(crc uint32, b []byte) uint32 {
	for _, c := range b {
		crc = crc<<8 ^ oggCRCTable[byte(crc>>24)^c]
	}
	return crc
}

// opusSamples returns the number of 48 kHz samples in an Opus packet, from
// its TOC byte (RFC 6716 §3.1), or 960 (20 ms) if it cannot tell.
func opusSamples(p []byte) int {
	if len(p) == 0 {
		return 0
	}
	toc := p[0]
	cfg := toc >> 3
	var frame int // samples per frame at 48 kHz
	switch {
	case cfg < 12: // SILK: 10, 20, 40, 60 ms
		frame = []int{480, 960, 1920, 2880}[cfg%4]
	case cfg < 16: // hybrid: 10, 20 ms
		frame = []int{480, 960}[cfg%2]
	default: // CELT: 2.5, 5, 10, 20 ms
		frame = []int{120, 240, 480, 960}[cfg%4]
	}
	switch toc & 3 {
	case 0:
		return frame
	case 1, 2:
		return 2 * frame
	default:
		if len(p) < 2 {
			return 960
		}
		return int(p[1]&0x3f) * frame
	}
}
