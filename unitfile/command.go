package unitfile

import (
	"errors"
	"strings"
)

// Command returns the command the unit's ExecStart= runs (the last one:
// a service other than Type=oneshot has only one), split and unquoted as
// SplitCommand does with %d the credentials directory of a system service,
// and the source of each LoadCredential= by the path the service sees it
// at. argv is nil when the unit has no ExecStart=.
func (u *Unit) Command() (argv []string, credentials map[string]string, err error) {
	credDir := "/run/credentials/" + u.Name
	credentials = map[string]string{}
	for _, o := range u.List("Service", "LoadCredential") {
		if name, src, ok := strings.Cut(o.Value, ":"); ok {
			credentials[credDir+"/"+name] = strings.ReplaceAll(src, "%%", "%")
		}
	}
	exec := u.List("Service", "ExecStart")
	if len(exec) == 0 {
		return nil, credentials, nil
	}
	argv, err = SplitCommand(exec[len(exec)-1].Value, credDir)
	return argv, credentials, err
}

// SplitCommand splits the value of ExecStart= (or another Exec*= option)
// into the program's path and its arguments as systemd 252 does: the
// prefixes "@-:+!" are dropped, words are split and unquoted as
// extract_first_word with EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE does, then
// "%%", "$$" and "%d" (to credDir; "%d" leaves it) are expanded; other
// specifiers and variables are left as written. With the "@" prefix, the
// second word is the name the program is given as argv[0], and is dropped:
// argv[0] is always the path.
func SplitCommand(value, credDir string) ([]string, error) {
	rest := strings.TrimLeft(value, "@-:+!")
	words, err := splitWords(rest)
	if err != nil {
		return nil, err
	}
	if strings.ContainsRune(value[:len(value)-len(rest)], '@') && len(words) > 1 {
		words = append(words[:1], words[2:]...)
	}
	r := strings.NewReplacer("%%", "%", "%d", credDir, "$$", "$")
	for i := range words {
		words[i] = r.Replace(words[i])
	}
	return words, nil
}

// splitWords splits s into words as systemd's extract_first_word with
// EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE.
func splitWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	in := false
	var quote byte
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '\\' && i+1 < len(s):
			i++
			in = true
			switch e := s[i]; e {
			case 'n':
				w.WriteByte('\n')
			case 't':
				w.WriteByte('\t')
			case 'r':
				w.WriteByte('\r')
			default:
				w.WriteByte(e) // \\ \" \' \; and a backslash before anything else
			}
		case quote != 0:
			if ch == quote {
				quote = 0
			} else {
				w.WriteByte(ch)
			}
		case ch == '"' || ch == '\'':
			quote, in = ch, true
		case ch == ' ' || ch == '\t' || ch == '\n':
			if in {
				words = append(words, w.String())
				w.Reset()
				in = false
			}
		default:
			w.WriteByte(ch)
			in = true
		}
	}
	if quote != 0 {
		return nil, errors.New("unterminated quote in ExecStart=")
	}
	if in {
		words = append(words, w.String())
	}
	return words, nil
}
