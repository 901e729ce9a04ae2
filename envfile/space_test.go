package envfile

import (
	"testing"
	"unicode"
)

// TestIsUnicodeSpace: the switch matches the Unicode white space that
// python-dotenv's \s and compose's unicode.IsSpace match beyond ASCII.
func TestIsUnicodeSpace(t *testing.T) {
	for r := rune(0x80); r <= unicode.MaxRune; r++ {
		if isUnicodeSpace(r) != unicode.IsSpace(r) {
			t.Errorf("isUnicodeSpace(%U) = %v, unicode.IsSpace says %v", r, isUnicodeSpace(r), unicode.IsSpace(r))
		}
	}
}
