package check

import (
	"encoding/json"
	"io"
)

// WriteJSON writes the report as one JSON object indented by two spaces, in
// the shape runapp check -h and README.md document: the fields in Report's
// and Problem's order, "problems" [] when there are none, strings escaped as
// encoding/json escapes them by default.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
