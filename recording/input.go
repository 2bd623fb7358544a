package recording

import (
	"encoding/json"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"

	"rtk-sidecar/apierr"
)

// StartInput is the body of POST /recordings.
type StartInput struct {
	MeetingID               *string         `json:"meeting_id"`
	AllowMultipleRecordings bool            `json:"allow_multiple_recordings"`
	MaxSeconds              *float64        `json:"max_seconds"`
	FileNamePrefix          *string         `json:"file_name_prefix"`
	URL                     *string         `json:"url"`
	VideoConfig             *VideoConfig    `json:"video_config"`
	AudioConfig             *AudioConfig    `json:"audio_config"`
	StorageConfig           json.RawMessage `json:"storage_config"`
	RealtimeKitBucketConfig *BucketConfig   `json:"realtimekit_bucket_config"`
	DyteBucketConfig        *BucketConfig   `json:"dyte_bucket_config"`
	RTMPOutConfig           *RTMPOutConfig  `json:"rtmp_out_config"`
	InteractiveConfig       json.RawMessage `json:"interactive_config"`
}

// VideoConfig is the video_config of a recording request.
type VideoConfig struct {
	Codec      string          `json:"codec,omitempty"`
	Width      *float64        `json:"width,omitempty"`
	Height     *float64        `json:"height,omitempty"`
	ExportFile *bool           `json:"export_file,omitempty"`
	Watermark  json.RawMessage `json:"watermark,omitempty"`
}

// AudioConfig is the audio_config of a recording request.
type AudioConfig struct {
	Codec      string `json:"codec,omitempty"`
	Channel    string `json:"channel,omitempty"`
	ExportFile *bool  `json:"export_file,omitempty"`
}

// BucketConfig is realtimekit_bucket_config (Dyte: dyte_bucket_config):
// whether the files are kept where download URLs can reach them.
type BucketConfig struct {
	Enabled *bool `json:"enabled"`
}

// RTMPOutConfig is rtmp_out_config.
type RTMPOutConfig struct {
	RTMPURL string `json:"rtmp_url"`
}

// TrackInput is the body of POST /recordings/track.
type TrackInput struct {
	MeetingID  *string               `json:"meeting_id"`
	Layers     map[string]TrackLayer `json:"layers"`
	MaxSeconds *float64              `json:"max_seconds"`
}

// TrackLayer is one layer of a track recording.
type TrackLayer struct {
	FileNamePrefix string            `json:"file_name_prefix"`
	Outputs        []json.RawMessage `json:"outputs"`
}

// storedConfig is what Recording.Config keeps of a request: the options,
// with storage credentials left out (the sidecar keeps files itself and
// never uses them).
type storedConfig struct {
	VideoConfig       *VideoConfig          `json:"video_config,omitempty"`
	AudioConfig       *AudioConfig          `json:"audio_config,omitempty"`
	StorageConfig     json.RawMessage       `json:"storage_config,omitempty"`
	BucketDisabled    bool                  `json:"bucket_disabled,omitempty"`
	InteractiveConfig json.RawMessage       `json:"interactive_config,omitempty"`
	Layers            map[string]TrackLayer `json:"layers,omitempty"`
}

// maxSeconds validates max_seconds: absent is 0 (no limit).
func maxSeconds(v *float64) (int, error) {
	if v == nil {
		return 0, nil
	}
	if *v < 60 || *v > 86400 || *v != math.Trunc(*v) {
		return 0, apierr.Invalid("max_seconds", "must be between 60 and 86400")
	}
	return int(*v), nil
}

var prefixRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// filePrefix validates a file name prefix: it becomes part of file names.
func filePrefix(field string, v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	if len(v) > 100 || !prefixRE.MatchString(v) {
		return "", apierr.Invalid(field, "must be at most 100 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	return v, nil
}

func oneOf(field, v string, allowed ...string) error {
	if v == "" || slices.Contains(allowed, v) {
		return nil
	}
	return apierr.Invalid(field, "must be one of [%s]", strings.Join(allowed, ", "))
}

func dimension(field string, v *float64) error {
	if v == nil {
		return nil
	}
	if *v < 1 || *v > 7680 || *v != math.Trunc(*v) {
		return apierr.Invalid(field, "must be a whole number of pixels between 1 and 7680")
	}
	return nil
}

// secretKeys are left out of a stored storage_config.
var secretKeys = []string{"access_key", "secret", "password", "private_key"}

func sanitizeStorage(raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, apierr.Invalid("storage_config", "must be an object")
	}
	t, _ := m["type"].(string)
	if err := oneOf("storage_config.type", t, "aws", "azure", "digitalocean", "gcs", "sftp"); err != nil || t == "" {
		return nil, apierr.Invalid("storage_config.type", "must be one of [aws, azure, digitalocean, gcs, sftp]")
	}
	for _, k := range secretKeys {
		delete(m, k)
	}
	return json.Marshal(m)
}

// validated is a checked StartInput.
type validated struct {
	meetingID  string
	maxSeconds int
	prefix     string
	config     json.RawMessage
	multiple   bool
}

func (in *StartInput) validate() (validated, error) {
	var v validated
	if in.URL != nil && *in.URL != "" {
		return v, apierr.Invalid("url", `is not supported by this server (it records meetings, not web pages): give "meeting_id" instead`)
	}
	if in.MeetingID == nil || strings.TrimSpace(*in.MeetingID) == "" {
		return v, apierr.Invalid("meeting_id", "is required")
	}
	if in.RTMPOutConfig != nil && in.RTMPOutConfig.RTMPURL != "" {
		return v, apierr.Invalid("rtmp_out_config", "is not supported by this server")
	}
	v.meetingID = strings.TrimSpace(*in.MeetingID)
	v.multiple = in.AllowMultipleRecordings
	var err error
	if v.maxSeconds, err = maxSeconds(in.MaxSeconds); err != nil {
		return v, err
	}
	if in.FileNamePrefix != nil {
		if v.prefix, err = filePrefix("file_name_prefix", *in.FileNamePrefix); err != nil {
			return v, err
		}
	}
	sc := storedConfig{VideoConfig: in.VideoConfig, AudioConfig: in.AudioConfig, InteractiveConfig: in.InteractiveConfig}
	if vc := in.VideoConfig; vc != nil {
		if err := firstErr(oneOf("video_config.codec", vc.Codec, "H264", "VP8"),
			dimension("video_config.width", vc.Width), dimension("video_config.height", vc.Height)); err != nil {
			return v, err
		}
	}
	if ac := in.AudioConfig; ac != nil {
		if err := firstErr(oneOf("audio_config.codec", ac.Codec, "MP3", "AAC"),
			oneOf("audio_config.channel", ac.Channel, "mono", "stereo")); err != nil {
			return v, err
		}
	}
	if sc.StorageConfig, err = sanitizeStorage(in.StorageConfig); err != nil {
		return v, err
	}
	for _, b := range []*BucketConfig{in.RealtimeKitBucketConfig, in.DyteBucketConfig} {
		if b != nil && b.Enabled != nil && !*b.Enabled {
			sc.BucketDisabled = true
		}
	}
	v.config, err = encodeConfig(sc)
	return v, err
}

func (in *TrackInput) validate() (validated, error) {
	var v validated
	if in.MeetingID == nil || strings.TrimSpace(*in.MeetingID) == "" {
		return v, apierr.Invalid("meeting_id", "is required")
	}
	v.meetingID = strings.TrimSpace(*in.MeetingID)
	if len(in.Layers) == 0 {
		return v, apierr.Invalid("layers", "is required: name at least one layer, e.g. {\"default\": {}}")
	}
	var err error
	if v.maxSeconds, err = maxSeconds(in.MaxSeconds); err != nil {
		return v, err
	}
	names := make([]string, 0, len(in.Layers))
	for name := range in.Layers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p, err := filePrefix("layers."+name+".file_name_prefix", in.Layers[name].FileNamePrefix)
		if err != nil {
			return v, err
		}
		if v.prefix == "" {
			v.prefix = p
		}
	}
	v.multiple = true // track recordings run alongside composite ones
	layers := make(map[string]TrackLayer, len(in.Layers))
	for name, l := range in.Layers {
		layers[name] = TrackLayer{FileNamePrefix: l.FileNamePrefix} // outputs may hold credentials
	}
	v.config, err = encodeConfig(storedConfig{Layers: layers})
	return v, err
}

func encodeConfig(sc storedConfig) (json.RawMessage, error) {
	b, err := json.Marshal(sc)
	if err != nil {
		return nil, err
	}
	if string(b) == "{}" {
		return nil, nil
	}
	return b, nil
}

func decodeConfig(raw json.RawMessage) storedConfig {
	var sc storedConfig
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &sc)
	}
	return sc
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
