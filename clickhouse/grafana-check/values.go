package main

import "reflect"

// newValue is a pointer to a fresh value of the column's scan type.
func newValue(kind reflect.Type) any {
	return reflect.New(kind).Interface()
}

// deref is the value a scan pointer points to.
func deref(pointer any) any {
	return reflect.ValueOf(pointer).Elem().Interface()
}
