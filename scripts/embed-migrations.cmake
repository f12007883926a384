# Turns src/store/migrations/NNNN_name.sql into a C++ table of (version, name, sql),
# and src/store/schema.sql (the schema of a new store) into NewStoreScript():
# that schema, then one schema_version row per migration (applied_at 0: the
# store was created with it).
file(GLOB files ${DIR}/*.sql)
list(SORT files)
set(body "// Generated from src/store/migrations by scripts/embed-migrations.cmake.\n#include \"store/migrations.h\"\n\nnamespace relay::store {\n\nconst std::vector<Migration>& Migrations() {\n  static const std::vector<Migration> kMigrations = {\n")
set(versions "")
foreach(f ${files})
  get_filename_component(name ${f} NAME_WE)
  string(REGEX MATCH "^[0-9]+" num ${name})
  math(EXPR version "${num}")
  file(READ ${f} sql)
  set(body "${body}      {${version}, \"${name}\", R\"relaysql(${sql})relaysql\"},\n")
  set(versions "${versions}INSERT INTO schema_version (version, name, applied_at) VALUES (${version}, '${name}', 0);\n")
endforeach()
file(READ ${DIR}/../schema.sql schema)
set(body "${body}  };\n  return kMigrations;\n}\n\nconst char* NewStoreScript() {\n  return R\"relaysql(${schema}\n${versions})relaysql\";\n}\n\n}  // namespace relay::store\n")
file(WRITE ${OUT}.tmp "${body}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
