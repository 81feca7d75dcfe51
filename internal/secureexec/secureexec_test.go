package secureexec

import "testing"

func TestDecide(t *testing.T) {
	for _, c := range []struct {
		name string
		f    facts
		want bool
	}{
		{"ordinary process", facts{known: true, uid: 1000, euid: 1000, gid: 1000, egid: 1000}, false},
		{"root, ordinary", facts{known: true}, false},
		{"flag set (file capabilities: ids equal)", facts{secure: true, known: true, uid: 1000, euid: 1000, gid: 1000, egid: 1000}, true},
		{"setuid root", facts{known: true, uid: 1000, euid: 0, gid: 1000, egid: 1000}, true},
		{"setgid", facts{known: true, uid: 1000, euid: 1000, gid: 1000, egid: 5}, true},
		{"no flag known, ids differ", facts{uid: 1000, euid: 0, gid: 1000, egid: 1000}, true},
		{"no flag known, ids equal", facts{uid: 1000, euid: 1000, gid: 1000, egid: 1000}, false},
		{"windows: no ids", facts{uid: -1, euid: -1, gid: -1, egid: -1}, false},
	} {
		if got := decide(c.f); got != c.want {
			t.Errorf("%s: decide(%+v) = %v, want %v", c.name, c.f, got, c.want)
		}
	}
}

// TestThisProcess: the test binary is an ordinary process (go test does not run it setuid).
func TestThisProcess(t *testing.T) {
	f := systemFacts()
	t.Logf("facts: %+v", f)
	if Enabled() {
		t.Errorf("Enabled() = true in an ordinary test process (facts %+v)", f)
	}
	restore := SetForTest(true)
	if !Enabled() {
		t.Error("SetForTest(true) did not take")
	}
	restore()
	if Enabled() {
		t.Error("SetForTest's restore did not take")
	}
}
