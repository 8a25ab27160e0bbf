package lower

// CheckRefModelVectors is checkRefModelVectors for the external test package (refmodel_more_test.go).
var CheckRefModelVectors = checkRefModelVectors
