package postgres

import (
	"encoding/json"
	"strconv"

	"github.com/tidemark/tidemark/domain"
)

// appendMetadata appends m as json.Marshal renders it, byte for byte, but
// without reflection: every appended event pays for it. A value that
// would need escaping (or a time json.Marshal refuses) goes to json.Marshal.
func appendMetadata(dst []byte, m domain.Metadata) ([]byte, error) {
	start := len(dst)
	if !plainJSON(m.Source) || !plainJSON(m.RemoteAddr) || !plainJSON(m.ContentType) || !plainJSON(m.Signature) {
		return appendMarshalled(dst, m)
	}
	b := append(dst, `{"source":"`...)
	b = append(b, m.Source...)
	b = append(b, `","receivedAt":"`...)
	b, err := m.ReceivedAt.AppendText(b) // what time.Time.MarshalJSON quotes
	if err != nil {
		return appendMarshalled(dst[:start], m)
	}
	dst = append(b, '"')
	for _, f := range [...]struct{ key, val string }{
		{`,"remoteAddr":"`, m.RemoteAddr},
		{`,"contentType":"`, m.ContentType},
		{`,"signature":"`, m.Signature},
	} {
		if f.val != "" { // omitempty
			dst = append(dst, f.key...)
			dst = append(dst, f.val...)
			dst = append(dst, '"')
		}
	}
	if m.Readmitted != 0 {
		dst = append(dst, `,"readmitted":`...)
		dst = strconv.AppendInt(dst, m.Readmitted, 10)
	}
	return append(dst, '}'), nil
}

func appendMarshalled(dst []byte, m domain.Metadata) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

// plainJSON: s is printable ASCII that encoding/json writes unchanged
// inside quotes (it escapes " and \ and, for HTML safety, < > &).
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}
