package control

import (
	"encoding/json"
	"errors"
	"time"
)

// Request is one command sent to the server, as one JSON line.
type Request struct {
	Cmd       string `json:"cmd"`
	Wait      bool   `json:"wait,omitempty"`
	Full      bool   `json:"full,omitempty"`
	Dest      string `json:"dest,omitempty"`   // one destination's name for sync; "": all of them
	Repair    bool   `json:"repair,omitempty"` // verify: queue the differences and wait for them
	TimeoutMS int64  `json:"timeout_ms,omitempty"`
	Path      string `json:"path,omitempty"` // release, versions: a path relative to the mountpoint
}

// Timeout is TimeoutMS as a duration; 0 means none. The server passes it to
// the handler untouched: what a timeout means is the command's business.
func (r Request) Timeout() time.Duration {
	return time.Duration(r.TimeoutMS) * time.Millisecond
}

// Response is the server's answer, as one JSON line.
type Response struct {
	OK    bool            `json:"ok"`
	Error string          `json:"error,omitempty"`
	Code  string          `json:"code,omitempty"` // machine-readable error class, one of the Code constants or a handler's own
	Data  json.RawMessage `json:"data,omitempty"`
}

// Decode unmarshals the response's data into v.
func (r Response) Decode(v any) error {
	if len(r.Data) == 0 {
		return errors.New("the response carries no data")
	}
	return json.Unmarshal(r.Data, v)
}

// Error classes set by this package. Handlers may use them or their own.
const (
	CodeBadRequest       = "bad_request"       // the request line was not a valid Request
	CodeUnknownCommand   = "unknown_command"   // for handlers: Cmd is not known
	CodePermissionDenied = "permission_denied" // the peer is neither root nor the server's uid
	CodeCanceled         = "canceled"          // the handler's context was cancelled
	CodeTimeout          = "timeout"           // the handler's context deadline passed
	CodeShuttingDown     = "shutting_down"     // the server closed while the handler ran
	CodeInternal         = "internal"          // the handler panicked or its result did not marshal
	CodeFailed           = "failed"            // any other handler error
)

// CodeError attaches an error class to a handler error.
type CodeError struct {
	Code string
	Err  error
}

func (e *CodeError) Error() string { return e.Err.Error() }
func (e *CodeError) Unwrap() error { return e.Err }

// WithCode returns err classified as code, for the Response's Code field.
func WithCode(code string, err error) error {
	if err == nil {
		return nil
	}
	return &CodeError{Code: code, Err: err}
}
