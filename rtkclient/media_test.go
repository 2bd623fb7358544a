package rtkclient

import (
	"slices"
	"testing"

	"github.com/pion/rtp"
)

// TestCarriesMedia: the publisher's frames count; padding, and the silence
// frame livekit-server sends on its own for a muted audio track, do not.
func TestCarriesMedia(t *testing.T) {
	packet := func(payload []byte, padding byte, ext bool) []byte {
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: 7, Timestamp: 960, SSRC: 42}, Payload: payload}
		if padding > 0 {
			p.Header.Padding, p.PaddingSize = true, padding
		}
		if ext {
			if err := p.Header.SetExtension(1, []byte{0x30}); err != nil {
				t.Fatal(err)
			}
		}
		b, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	frame := append([]byte{0xfc}, make([]byte, 80)...) // a CELT frame, as the e2e feeders send
	for _, c := range []struct {
		name string
		pkt  []byte
		want bool
	}{
		{"opus frame", packet(frame, 0, false), true},
		{"opus frame with an extension", packet(frame, 0, true), true},
		{"opus frame with padding", packet(frame, 4, false), true},
		{"the SFU's silence frame", packet(opusSilence, 0, false), false},
		{"the SFU's silence frame with an extension", packet(opusSilence, 0, true), false},
		{"the SFU's silence frame followed by zeros", packet(append(slices.Clone(opusSilence), make([]byte, 77)...), 0, false), false},
		{"padding only", packet(nil, 20, false), false},
		{"a longer frame starting like silence", packet([]byte{0xf8, 0xff, 0xfe, 0x01}, 0, false), true},
		{"a frame starting like silence, then zeros and more", packet([]byte{0xf8, 0xff, 0xfe, 0, 0, 0x01}, 0, false), true},
		{"not RTP", []byte{0x01}, true},
	} {
		if got := carriesMedia(c.pkt); got != c.want {
			t.Errorf("%s: carriesMedia = %v, want %v", c.name, got, c.want)
		}
	}
}
