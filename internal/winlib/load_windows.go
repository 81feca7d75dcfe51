//go:build windows

package winlib

import (
	"path/filepath"

	"golang.org/x/sys/windows"
)

// The constants of winlib.go are Windows' own (a mismatch makes one of these negative and fails to
// compile).
const (
	_ = uint(searchDLLLoadDir - windows.LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR)
	_ = uint(windows.LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR - searchDLLLoadDir)
	_ = uint(searchSystem32 - windows.LOAD_LIBRARY_SEARCH_SYSTEM32)
	_ = uint(windows.LOAD_LIBRARY_SEARCH_SYSTEM32 - searchSystem32)
)

// Load loads the DLL name: a bare name from the system directory only, a path from that file (made
// absolute, as LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR requires) with its dependencies from its own directory
// and the system directory. Never through the DLL search path.
func Load(name string) (windows.Handle, error) {
	if isPath(name) {
		abs, err := filepath.Abs(name)
		if err != nil {
			return 0, err
		}
		name = abs
	}
	return windows.LoadLibraryEx(name, 0, flags(name))
}
