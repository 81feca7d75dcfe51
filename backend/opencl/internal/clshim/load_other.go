//go:build !linux

package clshim

import "errors"

func bind(string) (*Shim, error) { return nil, errors.New("clshim runs on Linux only") }
