package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRunSmall(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"-backend", "cpu", "-min", "3", "-max", "5", "-time", "1ms"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	// 3 sizes × 3 activations × 3 passes × 2 dtypes rows, each checked.
	if got := strings.Count(out.String(), " ok"); got != 54 {
		t.Errorf("%d rows ok, want 54:\n%s", got, out.String())
	}
}

func TestRunList(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"-list"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"cpu", "cuda", "opencl"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("-list does not mention %s:\n%s", want, out.String())
		}
	}
}

func TestRunBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-dtype", "int8"}, {"-pass", "sideways"}, {"-act", "gelu"}, {"-min", "9", "-max", "3"}, {"-backend", "cuda:x"}, {"-nosuchflag"}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
