package testreaders

import (
	"bytes"
	"io"
	"slices"

	composedotenv "github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/sirupsen/logrus"
)

// compose-go warns through logrus of the variables it finds unset.
func init() { logrus.SetOutput(io.Discard) }

// Compose reads data with compose-go's own parser (what docker compose's
// env_file reads) with an empty lookup environment. It also returns the
// names compose asked the lookup for: docker compose answers them from the
// process environment, so a value built from them depends on the
// environment compose runs in.
func Compose(data []byte) (Result, []string) {
	var asked []string
	v, err := composedotenv.ParseWithLookup(bytes.NewReader(data), func(name string) (string, bool) {
		if !slices.Contains(asked, name) {
			asked = append(asked, name)
		}
		return "", false
	})
	if err != nil {
		return Result{Err: "compose: " + err.Error()}, asked
	}
	return Result{Vars: v}, asked
}
