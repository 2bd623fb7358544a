//go:build e2e

package e2e

import (
	"path/filepath"
	"slices"
	"testing"
)

// TestReplicasForwardLocalRecordingActions: a local recording started on one replica is
// paused, resumed and stopped through the other; each action reaches the recorder of the
// replica running it (the stop ends the recording: UPLOADED, with its files; a stop that
// reached only the store would leave the recorder writing, and the recording UPLOADING).
// A replica that starts meanwhile leaves a recording of a live replica running.
func TestReplicasForwardLocalRecordingActions(t *testing.T) {
	cl := startCluster(t, 1)
	sc := cl.sc
	meeting := sc.CreateMeeting(t, "Recorded across replicas")
	_, aliceTok := sc.AddParticipant(t, meeting, "alice", "group_call_host")
	alice := sc.Connect(t, aliceTok)
	if err := alice.PublishAudio(); err != nil {
		t.Fatal(err)
	}
	owner, other := cl.direct(cl.reps[0]), cl.direct(cl.reps[1])

	base := sc.AppPath + "/recordings"
	var rec recordingJSON
	owner.Must(t, "POST", base, map[string]any{"meeting_id": meeting}, &rec)
	waitRecording(t, owner, rec.ID, "RECORDING")
	for _, step := range []struct {
		action string
		want   []string
	}{
		{"pause", []string{"PAUSED"}},
		{"resume", []string{"RECORDING"}},
		{"stop", []string{"UPLOADING", "UPLOADED"}}, // a short recording may be finished already
	} {
		other.Must(t, "PUT", base+"/"+rec.ID, map[string]any{"action": step.action}, &rec)
		if !slices.Contains(step.want, rec.Status) {
			t.Fatalf("after %s through the other replica: %s, want %v", step.action, rec.Status, step.want)
		}
	}
	// A second recording runs on when a third replica starts: it is not that replica's
	// leftover.
	meeting2 := sc.CreateMeeting(t, "Recorded while a replica starts")
	_, bobTok := sc.AddParticipant(t, meeting2, "bob", "group_call_host")
	sc.Connect(t, bobTok)
	var running recordingJSON
	owner.Must(t, "POST", base, map[string]any{"meeting_id": meeting2}, &running)
	waitRecording(t, owner, running.ID, "RECORDING")
	// Stopped through the new replica, it ends UPLOADED; one taken for a leftover would be
	// ERRORED, which is final.
	third := cl.direct(startReplica(t, cl.bin, 2, cl.dsn, cl.redisAddr, cl.nodes[0], cl.shared))
	waitRecording(t, third, running.ID, "RECORDING")
	third.Must(t, "PUT", base+"/"+running.ID, map[string]any{"action": "stop"}, &running)
	waitRecording(t, third, running.ID, "UPLOADED")

	rec = waitRecording(t, other, rec.ID, "UPLOADED")
	if rec.StopReason == nil || rec.StopReason.Reason != "API_CALL" {
		t.Errorf("uploaded: %+v", rec)
	}
	// The recorder that stopped wrote the recording's files on the owner's disk.
	if m := readManifest(t, filepath.Join(cl.reps[0].cmd.Dir, "recordings", e2eApp, rec.ID)); m.RecordingID != rec.ID || m.Room != meeting {
		t.Errorf("manifest %+v, want recording %s of room %s", m, rec.ID, meeting)
	}
}
