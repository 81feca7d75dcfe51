package cu

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// TestRequiredSymbolsAreCalled checks funcs' rule from both sides: every symbol Load requires is
// resolved into a field of funcs that a call of this package uses, through d.fn, under the name its
// error reports; and every field a call uses is resolved. So the required symbols are exactly the entry
// points that are called, and a driver lacking one that nothing calls is never refused. It reads the
// package's source; TestCallsAreUsed checks that the backend calls each of those calls.
func TestRequiredSymbolsAreCalled(t *testing.T) {
	var f funcs
	v := reflect.ValueOf(&f).Elem()
	fieldAt := map[uintptr]string{}
	for i := range v.NumField() {
		fieldAt[v.Field(i).Addr().Pointer()] = v.Type().Field(i).Name
	}
	symbolOf := map[string]string{} // field -> the symbol Load resolves it from
	for _, s := range f.symbols() {
		field, ok := fieldAt[uintptr(unsafe.Pointer(s.ptr))]
		switch {
		case !ok:
			t.Errorf("symbol %s is resolved into something that is not a field of funcs", s.name)
		case symbolOf[field] != "":
			t.Errorf("field %s is resolved twice, from %s and %s", field, symbolOf[field], s.name)
		default:
			symbolOf[field] = s.name
		}
	}
	for _, field := range fieldAt {
		if symbolOf[field] == "" {
			t.Errorf("field %s of funcs is never resolved: its call would call address 0", field)
		}
	}

	used := map[string]bool{}
	fset, files := sourceFiles(t, ".")
	for _, file := range files {
		callees := map[ast.Node]bool{} // x.fn.m in x.fn.m(...) is a method of funcs, not an entry point
		ast.Inspect(file, func(n ast.Node) bool {
			if c, ok := n.(*ast.CallExpr); ok {
				callees[c.Fun] = true
			}
			field := fnField(n)
			if callees[n] {
				field = ""
			}
			if field == "" {
				// d.check("cuX", d.syscall(d.fn.cuX, ...)): the name the error reports is the symbol called.
				if c, ok := n.(*ast.CallExpr); ok && isMethod(c.Fun, "check") && len(c.Args) == 2 {
					if inner, ok := c.Args[1].(*ast.CallExpr); ok && isMethod(inner.Fun, "syscall") && len(inner.Args) > 0 {
						name := strings.TrimSuffix(leadingString(c.Args[0]), "(")
						if f := fnField(inner.Args[0]); f != "" && symbolOf[f] != "" && name != symbolOf[f] {
							t.Errorf("%s: the call to %s reports its errors as %q", fset.Position(c.Pos()), symbolOf[f], name)
						}
					}
				}
				return true
			}
			used[field] = true
			if symbolOf[field] == "" {
				t.Errorf("d.fn.%s is called but not a resolved field of funcs", field)
			}
			return true
		})
	}
	for field, sym := range symbolOf {
		if !used[field] {
			t.Errorf("%s is required (Load refuses a driver without it) but nothing calls it: remove it from funcs", sym)
		}
	}
	if len(used) == 0 {
		t.Fatal("found no call through d.fn: the source was not read")
	}
}

// TestCallsAreUsed: every Driver method that calls an entry point is called by the non-test code of
// this package or of the backend (package cuda), so no symbol is required for a call nobody makes.
func TestCallsAreUsed(t *testing.T) {
	callers := map[string]bool{} // Driver methods that call through d.fn
	called := map[string]bool{}  // every name called as a method or field function, x.Name(...)
	for _, dir := range []string{".", filepath.Join("..", "..")} {
		_, files := sourceFiles(t, dir)
		for _, file := range files {
			for _, decl := range file.Decls {
				fd, ok := decl.(*ast.FuncDecl)
				if !ok || fd.Recv == nil || fd.Body == nil || !isDriver(fd.Recv.List[0].Type) {
					continue
				}
				ast.Inspect(fd.Body, func(n ast.Node) bool {
					if fnField(n) != "" {
						callers[fd.Name.Name] = true
					}
					return true
				})
			}
			ast.Inspect(file, func(n ast.Node) bool {
				if c, ok := n.(*ast.CallExpr); ok {
					if sel, ok := c.Fun.(*ast.SelectorExpr); ok {
						called[sel.Sel.Name] = true
					}
				}
				return true
			})
		}
	}
	if len(callers) == 0 {
		t.Fatal("found no Driver method that calls the driver: the source was not read")
	}
	for m := range callers {
		if m != "check" && !called[m] {
			t.Errorf("Driver.%s is called by nothing: remove it and the symbols only it uses", m)
		}
	}
}

// sourceFiles parses the non-test Go files of dir that are part of a build (not //go:build ignore).
func sourceFiles(t *testing.T, dir string) (*token.FileSet, []*ast.File) {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(f.Comments, func(g *ast.CommentGroup) bool {
			return slices.ContainsFunc(g.List, func(c *ast.Comment) bool { return c.Text == "//go:build ignore" })
		}) {
			continue
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		t.Fatalf("no Go source in %s", dir)
	}
	return fset, files
}

// fnField returns X when n is <recv>.fn.X, else "".
func fnField(n ast.Node) string {
	sel, ok := n.(*ast.SelectorExpr)
	if !ok {
		return ""
	}
	if inner, ok := sel.X.(*ast.SelectorExpr); ok && inner.Sel.Name == "fn" {
		return sel.Sel.Name
	}
	return ""
}

func isMethod(e ast.Expr, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == name
}

// isDriver reports whether a receiver's type is *Driver.
func isDriver(e ast.Expr) bool {
	star, ok := e.(*ast.StarExpr)
	if !ok {
		return false
	}
	id, ok := star.X.(*ast.Ident)
	return ok && id.Name == "Driver"
}

// leadingString is the string literal that e is or starts with ("cuX", "cuX(" + name + ")"), or "".
func leadingString(e ast.Expr) string {
	for {
		switch x := e.(type) {
		case *ast.BinaryExpr:
			e = x.X
		case *ast.BasicLit:
			s, err := strconv.Unquote(x.Value)
			if err != nil {
				return ""
			}
			return s
		default:
			return ""
		}
	}
}
