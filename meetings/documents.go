package meetings

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"rtk-sidecar/apierr"
)

// AIConfig is a meeting's ai_config document, as RealtimeKit defines it.
type AIConfig struct {
	Transcription *Transcription `json:"transcription,omitempty"`
	Summarization *Summarization `json:"summarization,omitempty"`
}

// Transcription configures meeting transcription.
type Transcription struct {
	Keywords        []string `json:"keywords,omitempty"`
	Language        string   `json:"language,omitempty"`
	ProfanityFilter *bool    `json:"profanity_filter,omitempty"`
}

// Summarization configures the end-of-meeting summary.
type Summarization struct {
	WordLimit   *int   `json:"word_limit,omitempty"`
	TextFormat  string `json:"text_format,omitempty"`
	SummaryType string `json:"summary_type,omitempty"`
}

// RecordingConfig is a meeting's recording_config document.
type RecordingConfig struct {
	MaxSeconds              *float64                 `json:"max_seconds,omitempty"`
	FileNamePrefix          string                   `json:"file_name_prefix,omitempty"`
	VideoConfig             *VideoConfig             `json:"video_config,omitempty"`
	AudioConfig             *AudioConfig             `json:"audio_config,omitempty"`
	StorageConfig           *StorageConfig           `json:"storage_config,omitempty"`
	RealtimekitBucketConfig *RealtimekitBucketConfig `json:"realtimekit_bucket_config,omitempty"`
	LiveStreamingConfig     *LiveStreamingConfig     `json:"live_streaming_config,omitempty"`
}

// VideoConfig configures the video of a recording.
type VideoConfig struct {
	Codec      string     `json:"codec,omitempty"`
	Width      *int       `json:"width,omitempty"`
	Height     *int       `json:"height,omitempty"`
	ExportFile *bool      `json:"export_file,omitempty"`
	Watermark  *Watermark `json:"watermark,omitempty"`
}

// Watermark is an image laid over a recording.
type Watermark struct {
	URL      string         `json:"url,omitempty"`
	Size     *WatermarkSize `json:"size,omitempty"`
	Position string         `json:"position,omitempty"`
}

// WatermarkSize is the size of a watermark in pixels.
type WatermarkSize struct {
	Width  *int `json:"width,omitempty"`
	Height *int `json:"height,omitempty"`
}

// AudioConfig configures the audio of a recording.
type AudioConfig struct {
	Codec      string `json:"codec,omitempty"`
	Channel    string `json:"channel,omitempty"`
	ExportFile *bool  `json:"export_file,omitempty"`
}

// StorageConfig names where recordings are uploaded.
type StorageConfig struct {
	Type       string   `json:"type"`
	AccessKey  string   `json:"access_key,omitempty"`
	Secret     string   `json:"secret,omitempty"`
	Bucket     string   `json:"bucket,omitempty"`
	Region     string   `json:"region,omitempty"`
	Path       string   `json:"path,omitempty"`
	AuthMethod string   `json:"auth_method,omitempty"`
	Username   string   `json:"username,omitempty"`
	Password   string   `json:"password,omitempty"`
	Host       string   `json:"host,omitempty"`
	Port       *float64 `json:"port,omitempty"`
	PrivateKey string   `json:"private_key,omitempty"`
}

// RealtimekitBucketConfig says whether recordings go to the built-in bucket.
type RealtimekitBucketConfig struct {
	Enabled *bool `json:"enabled"`
}

// LiveStreamingConfig names the RTMP target of a livestream.
type LiveStreamingConfig struct {
	RtmpURL string `json:"rtmp_url,omitempty"`
}

// Allowed values, as RealtimeKit's API lists them.
var (
	transcriptionLanguages = []string{"en-US", "en-IN", "de", "hi", "sv", "ru", "pl", "el", "fr", "nl"}
	summaryTextFormats     = []string{"plain_text", "markdown"}
	summaryTypes           = []string{"general", "team_meeting", "sales_call", "client_check_in", "interview",
		"daily_standup", "one_on_one_meeting", "lecture", "code_review"}
	videoCodecs        = []string{"H264", "VP8"}
	audioCodecs        = []string{"MP3", "AAC"}
	audioChannels      = []string{"mono", "stereo"}
	watermarkPositions = []string{"left top", "right top", "left bottom", "right bottom"}
	storageTypes       = []string{"aws", "azure", "digitalocean", "gcs", "sftp"}
	storageAuthMethods = []string{"KEY", "PASSWORD"}
)

func oneOf(field, v string, allowed []string) error {
	if v == "" || slices.Contains(allowed, v) {
		return nil
	}
	return apierr.Invalid(field, "must be one of [%s]", strings.Join(allowed, ", "))
}

func intIn(field string, v *int, lo, hi int) error {
	if v == nil || (*v >= lo && *v <= hi) {
		return nil
	}
	return apierr.Invalid(field, "must be between %d and %d", lo, hi)
}

func httpURL(field, v string, schemes ...string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || !slices.Contains(schemes, u.Scheme) || u.Host == "" {
		return apierr.Invalid(field, "must be a %s URL", strings.Join(schemes, " or "))
	}
	return nil
}

// firstErr returns the first non-nil error: validation reports the first
// problem, in document order.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Validate checks an ai_config document.
func (c *AIConfig) Validate() error {
	var errs []error
	if t := c.Transcription; t != nil {
		errs = append(errs, oneOf("ai_config.transcription.language", t.Language, transcriptionLanguages))
		for i, k := range t.Keywords {
			if strings.TrimSpace(k) == "" {
				errs = append(errs, apierr.Invalid(fmt.Sprintf("ai_config.transcription.keywords[%d]", i), "must not be empty"))
			}
		}
	}
	if s := c.Summarization; s != nil {
		errs = append(errs,
			intIn("ai_config.summarization.word_limit", s.WordLimit, 150, 1000),
			oneOf("ai_config.summarization.text_format", s.TextFormat, summaryTextFormats),
			oneOf("ai_config.summarization.summary_type", s.SummaryType, summaryTypes))
	}
	return firstErr(errs...)
}

// Validate checks a recording_config document.
func (c *RecordingConfig) Validate() error {
	var errs []error
	if c.MaxSeconds != nil && (*c.MaxSeconds < 60 || *c.MaxSeconds > 86400) {
		errs = append(errs, apierr.Invalid("recording_config.max_seconds", "must be between 60 and 86400"))
	}
	if strings.ContainsAny(c.FileNamePrefix, `/\`) {
		errs = append(errs, apierr.Invalid("recording_config.file_name_prefix", "must not contain path separators"))
	}
	if v := c.VideoConfig; v != nil {
		errs = append(errs,
			oneOf("recording_config.video_config.codec", v.Codec, videoCodecs),
			intIn("recording_config.video_config.width", v.Width, 1, 7680),
			intIn("recording_config.video_config.height", v.Height, 1, 4320))
		if w := v.Watermark; w != nil {
			errs = append(errs,
				httpURL("recording_config.video_config.watermark.url", w.URL, "http", "https"),
				oneOf("recording_config.video_config.watermark.position", w.Position, watermarkPositions))
			if s := w.Size; s != nil {
				errs = append(errs,
					intIn("recording_config.video_config.watermark.size.width", s.Width, 1, 7680),
					intIn("recording_config.video_config.watermark.size.height", s.Height, 1, 4320))
			}
		}
	}
	if a := c.AudioConfig; a != nil {
		errs = append(errs,
			oneOf("recording_config.audio_config.codec", a.Codec, audioCodecs),
			oneOf("recording_config.audio_config.channel", a.Channel, audioChannels))
	}
	if s := c.StorageConfig; s != nil {
		if s.Type == "" {
			errs = append(errs, apierr.Invalid("recording_config.storage_config.type", "is required"))
		}
		errs = append(errs,
			oneOf("recording_config.storage_config.type", s.Type, storageTypes),
			oneOf("recording_config.storage_config.auth_method", s.AuthMethod, storageAuthMethods))
		if s.Port != nil && (*s.Port < 1 || *s.Port > 65535) {
			errs = append(errs, apierr.Invalid("recording_config.storage_config.port", "must be between 1 and 65535"))
		}
	}
	if b := c.RealtimekitBucketConfig; b != nil && b.Enabled == nil {
		errs = append(errs, apierr.Invalid("recording_config.realtimekit_bucket_config.enabled", "is required"))
	}
	if l := c.LiveStreamingConfig; l != nil {
		errs = append(errs, httpURL("recording_config.live_streaming_config.rtmp_url", l.RtmpURL, "rtmp", "rtmps"))
	}
	return firstErr(errs...)
}

// encode validates a document and returns its canonical JSON; a nil
// document encodes as nil (unset).
func encode[T interface{ Validate() error }](doc T, isNil bool) (json.RawMessage, error) {
	if isNil {
		return nil, nil
	}
	if err := doc.Validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("meetings: encode: %w", err)
	}
	return b, nil
}

// Redacted returns a recording_config document without its credentials
// (storage secret, password and private key): they are write-only and never
// leave the sidecar in API answers. Anything that is not a valid document is
// returned as nil.
func Redacted(raw json.RawMessage) json.RawMessage {
	if raw == nil {
		return nil
	}
	var c RecordingConfig
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil
	}
	if s := c.StorageConfig; s != nil {
		s.Secret, s.Password, s.PrivateKey = "", "", ""
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil
	}
	return b
}
