package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Loader parses the module's packages on demand; packages outside the module are opaque.
type Loader struct {
	moduleDir string
	fset      *token.FileSet
	packages  map[string]*Package
}

// Package holds one parsed package's top-level declarations.
type Package struct {
	path  string
	fset  *token.FileSet
	vars  map[string]*topLevel // constants and variables
	funcs map[string]*ast.FuncDecl
	types map[string]bool
	// files maps each function declaration's file to its imports, for evaluating its body.
	imports map[*ast.FuncDecl]map[string]string
}

// topLevel is a package-level constant or variable with the imports of the file declaring it.
type topLevel struct {
	expr    ast.Expr
	imports map[string]string
	value   Value
	state   int // 0 not evaluated, 1 evaluating, 2 done
}

func newLoader(moduleDir string) *Loader {
	return &Loader{moduleDir: moduleDir, fset: token.NewFileSet(), packages: map[string]*Package{}}
}

// inModule says whether an import path belongs to the conformance module.
func inModule(importPath string) bool {
	return importPath == modulePath || strings.HasPrefix(importPath, modulePath+"/")
}

func (l *Loader) load(importPath string) (*Package, error) {
	if pkg, ok := l.packages[importPath]; ok {
		return pkg, nil
	}
	if !inModule(importPath) {
		return nil, fmt.Errorf("%s is outside the conformance module", importPath)
	}
	dir := filepath.Join(l.moduleDir, filepath.FromSlash(strings.TrimPrefix(importPath, modulePath)))
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	pkg := &Package{
		path: importPath, fset: l.fset, vars: map[string]*topLevel{}, funcs: map[string]*ast.FuncDecl{},
		types: map[string]bool{}, imports: map[*ast.FuncDecl]map[string]string{},
	}
	for _, entry := range entries {
		name := entry.Name()
		if entry.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(l.fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		pkg.add(file)
	}
	l.packages[importPath] = pkg
	return pkg, nil
}

func (p *Package) add(file *ast.File) {
	imports := fileImports(file)
	for _, decl := range file.Decls {
		switch decl := decl.(type) {
		case *ast.FuncDecl:
			if decl.Recv == nil {
				p.funcs[decl.Name.Name] = decl
				p.imports[decl] = imports
			}
		case *ast.GenDecl:
			p.addGeneral(decl, imports)
		}
	}
}

func (p *Package) addGeneral(decl *ast.GenDecl, imports map[string]string) {
	for _, spec := range decl.Specs {
		switch spec := spec.(type) {
		case *ast.TypeSpec:
			p.types[spec.Name.Name] = true
		case *ast.ValueSpec:
			for i, name := range spec.Names {
				var expr ast.Expr
				if i < len(spec.Values) {
					expr = spec.Values[i]
				}
				p.vars[name.Name] = &topLevel{expr: expr, imports: imports}
			}
		}
	}
}

func (p *Package) sortedVarNames() []string {
	names := make([]string, 0, len(p.vars))
	for name := range p.vars {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// fileImports maps each import's local name to its path.
func fileImports(file *ast.File) map[string]string {
	imports := map[string]string{}
	for _, spec := range file.Imports {
		path, err := strconv.Unquote(spec.Path.Value)
		if err != nil {
			continue
		}
		name := path[strings.LastIndex(path, "/")+1:]
		if spec.Name != nil {
			name = spec.Name.Name
		}
		imports[name] = path
	}
	return imports
}

// exprString renders a type or selector expression ("http.ExpectedResponse", "[]string").
func exprString(expr ast.Expr) string {
	switch expr := expr.(type) {
	case nil:
		return ""
	case *ast.Ident:
		return expr.Name
	case *ast.SelectorExpr:
		return exprString(expr.X) + "." + expr.Sel.Name
	case *ast.StarExpr:
		return "*" + exprString(expr.X)
	case *ast.ArrayType:
		return "[]" + exprString(expr.Elt)
	case *ast.MapType:
		return "map[" + exprString(expr.Key) + "]" + exprString(expr.Value)
	case *ast.IndexExpr:
		return exprString(expr.X) + "[" + exprString(expr.Index) + "]"
	case *ast.CallExpr:
		return exprString(expr.Fun) + "(...)"
	case *ast.ParenExpr:
		return exprString(expr.X)
	default:
		return fmt.Sprintf("%T", expr)
	}
}
