package sidecar

import (
	"encoding/json"
	"mime"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"rtk-sidecar/recording"
	"rtk-sidecar/store"
)

// recordingRoutes registers the recordings API under an app.
func (s *Server) recordingRoutes(g *gin.RouterGroup) {
	if s.Recordings == nil {
		return
	}
	g.POST("/recordings", handle(s.startRecording))
	g.GET("/recordings", handle(s.listRecordings))
	g.POST("/recordings/track", handle(s.startTrackRecording))
	g.GET("/recordings/active-recording/:meeting_id", handle(s.activeRecording))
	g.GET("/recordings/:recording_id", handle(s.getRecording))
	g.PUT("/recordings/:recording_id", handle(s.actOnRecording))
}

// downloadRoutes registers the download links of recordings' files. They
// take no API key: the link's signature is the capability.
func (s *Server) downloadRoutes(r *gin.Engine) {
	if s.Recordings == nil {
		return
	}
	r.GET(recording.DownloadPath+"/:app_id/:recording_id/:name", handle(s.downloadRecording))
	r.HEAD(recording.DownloadPath+"/:app_id/:recording_id/:name", handle(s.downloadRecording))
}

// ---- wire types ----

type recordingJSON struct {
	ID                string                `json:"id"`
	Status            string                `json:"status"`
	InvokedTime       string                `json:"invoked_time"`
	StartedTime       *string               `json:"started_time"`
	StoppedTime       *string               `json:"stopped_time"`
	SessionID         *string               `json:"session_id"`
	OutputFileName    string                `json:"output_file_name"`
	FileSize          *int64                `json:"file_size"`
	RecordingDuration int                   `json:"recording_duration"`
	DownloadURL       *string               `json:"download_url"`
	AudioDownloadURL  *string               `json:"audio_download_url"`
	DownloadURLExpiry *string               `json:"download_url_expiry"`
	StartReason       *recording.ReasonJSON `json:"start_reason,omitempty"`
	StopReason        *recording.ReasonJSON `json:"stop_reason,omitempty"`
	StorageConfig     json.RawMessage       `json:"storage_config"`
	Meeting           *meetingJSON          `json:"meeting,omitempty"`
}

func isoPtr(t time.Time) *string { return nullable(iso(t)) }

// toRecordingJSON renders a recording; list items embed their meeting.
func toRecordingJSON(v recording.View, withMeeting bool) recordingJSON {
	r := v.Recording
	j := recordingJSON{
		ID: r.ID, Status: r.Status, InvokedTime: iso(r.InvokedAt),
		StartedTime: isoPtr(r.StartedAt), StoppedTime: isoPtr(r.StoppedAt),
		SessionID: nullable(r.SessionID), OutputFileName: r.OutputFileName,
		RecordingDuration: r.Duration,
		DownloadURL:       nullable(v.DownloadURL), AudioDownloadURL: nullable(v.AudioDownloadURL),
		DownloadURLExpiry: isoPtr(v.DownloadURLExpiry),
		StartReason:       recording.ReasonOf(r.StartReason), StopReason: recording.ReasonOf(r.StopReason),
		StorageConfig: storageConfigOf(r.Config),
	}
	if r.Status == store.RecordingUploaded {
		size := r.FileSize
		j.FileSize = &size
	}
	if withMeeting {
		m := toMeetingJSON(v.Meeting, false)
		j.Meeting = &m
	}
	return j
}

// storageConfigOf returns the stored (credential-free) storage_config, or null.
func storageConfigOf(config json.RawMessage) json.RawMessage {
	var c struct {
		StorageConfig json.RawMessage `json:"storage_config"`
	}
	if len(config) > 0 && json.Unmarshal(config, &c) == nil && len(c.StorageConfig) > 0 {
		return c.StorageConfig
	}
	return json.RawMessage("null")
}

// ---- handlers ----

// startRecording handles POST /recordings.
func (s *Server) startRecording(c *gin.Context) error {
	svc := s.Recordings
	var in recording.StartInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	v, err := svc.Start(c.Request.Context(), appOf(c), in)
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, toRecordingJSON(v, false))
	return nil
}

// startTrackRecording handles POST /recordings/track.
func (s *Server) startTrackRecording(c *gin.Context) error {
	svc := s.Recordings
	var in recording.TrackInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	vs, err := svc.StartTracks(c.Request.Context(), appOf(c), in)
	if err != nil {
		return err
	}
	out := make([]recordingJSON, len(vs))
	for i, v := range vs {
		out[i] = toRecordingJSON(v, false)
	}
	ok(c, http.StatusOK, gin.H{"recordings": out})
	return nil
}

var listableStatuses = []string{
	store.RecordingInvoked, store.RecordingRecording, store.RecordingPaused,
	store.RecordingUploading, store.RecordingUploaded, store.RecordingErrored,
}

// listRecordings handles GET /recordings.
func (s *Server) listRecordings(c *gin.Context) error {
	svc := s.Recordings
	pg, err := pageOf(c)
	if err != nil {
		return err
	}
	after, before, err := queryWindow(c)
	if err != nil {
		return err
	}
	f := recording.ListFilter{RecordingFilter: store.RecordingFilter{
		MeetingID: c.Query("meeting_id"), Search: strings.TrimSpace(c.Query("search")),
		InvokedAfter: after, InvokedBefore: before, Page: pg,
	}}
	if sb := c.Query("sort_by"); sb != "" && sb != "invokedTime" {
		return invalidArgument(`"sort_by" must be one of [invokedTime]`)
	}
	switch strings.ToUpper(c.Query("sort_order")) {
	case "", "DESC":
	case "ASC":
		f.OldestFirst = true
	default:
		return invalidArgument(`"sort_order" must be one of [ASC, DESC]`)
	}
	for _, v := range c.QueryArray("status") {
		for _, st := range strings.Split(v, ",") {
			st = strings.ToUpper(strings.TrimSpace(st))
			if st == "" {
				continue
			}
			if !slices.Contains(listableStatuses, st) {
				return invalidArgument(`"status" must be one of [%s]`, strings.Join(listableStatuses, ", "))
			}
			f.Statuses = append(f.Statuses, st)
		}
	}
	if e := c.Query("expired"); e != "" {
		b, err := strconv.ParseBool(e)
		if err != nil {
			return invalidArgument(`"expired" must be true or false`)
		}
		f.Expired = &b
	}
	vs, total, err := svc.List(c.Request.Context(), appOf(c), f)
	if err != nil {
		return err
	}
	out := make([]recordingJSON, len(vs))
	for i, v := range vs {
		out[i] = toRecordingJSON(v, true)
	}
	okPage(c, out, pagingOf(pg, len(out), total))
	return nil
}

// getRecording handles GET /recordings/{recording_id}.
func (s *Server) getRecording(c *gin.Context) error {
	svc := s.Recordings
	v, err := svc.Get(c.Request.Context(), appOf(c), c.Param("recording_id"))
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, toRecordingJSON(v, false))
	return nil
}

// activeRecording handles GET /recordings/active-recording/{meeting_id}.
func (s *Server) activeRecording(c *gin.Context) error {
	svc := s.Recordings
	v, err := svc.Active(c.Request.Context(), appOf(c), c.Param("meeting_id"))
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, toRecordingJSON(v, false))
	return nil
}

// actOnRecording handles PUT /recordings/{recording_id} {action}.
func (s *Server) actOnRecording(c *gin.Context) error {
	svc := s.Recordings
	var req struct {
		Action *string `json:"action"`
	}
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.Action == nil || *req.Action == "" {
		return invalidArgument(`"action" is required: one of [stop, pause, resume]`)
	}
	v, err := svc.Act(c.Request.Context(), appOf(c), c.Param("recording_id"), strings.ToLower(*req.Action))
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, toRecordingJSON(v, false))
	return nil
}

// downloadRecording handles GET {recording.DownloadPath}/{app}/{recording}/{name}?expires=&signature=.
func (s *Server) downloadRecording(c *gin.Context) error {
	svc := s.Recordings
	d, err := svc.Download(c.Request.Context(), c.Param("app_id"), c.Param("recording_id"), c.Param("name"),
		c.Query("expires"), c.Query("signature"))
	if err != nil {
		return err
	}
	c.Header("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": d.Name}))
	c.Header("Cache-Control", "private, no-store")
	if !d.IsArchive() {
		f, err := os.Open(d.Path)
		if err != nil {
			return err
		}
		defer f.Close()
		http.ServeContent(c.Writer, c.Request, d.Name, d.ModTime, f)
		return nil
	}
	c.Header("Content-Type", "application/zip")
	c.Status(http.StatusOK)
	if c.Request.Method == http.MethodHead {
		return nil
	}
	if err := d.WriteZip(c.Writer); err != nil {
		_ = c.Error(err) // the status is sent; the log gets the error
	}
	return nil
}
