// A path parameter's schema must bound what it accepts: a number both ends, a string its length.
export default function pathParameterBounds(schema) {
  if (!schema || typeof schema !== "object") {
    return [{ message: "the path parameter has no schema" }];
  }
  if (Array.isArray(schema.enum) || "const" in schema) {
    return [];
  }
  const type = schema.type;
  if (type === "integer" || type === "number") {
    if (schema.minimum === undefined || schema.maximum === undefined) {
      return [{ message: `the ${type} path parameter needs both minimum and maximum` }];
    }
    return [];
  }
  if (type === "string") {
    return schema.maxLength === undefined ? [{ message: "the string path parameter needs maxLength" }] : [];
  }
  return [{ message: `the path parameter's type must be integer, number or string, not ${JSON.stringify(type)}` }];
}
