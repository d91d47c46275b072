# Generates a C++ source defining `const std::vector<Migration>& <db>_migrations()`
# from schema/sql/<db>/NNN_name.sql, so migrations ship inside the binary.
function(nightshift_embed_sql out_var db)
  set(dir ${PROJECT_SOURCE_DIR}/schema/sql/${db})
  file(GLOB files CONFIGURE_DEPENDS ${dir}/*.sql)
  list(SORT files)
  set(body "")
  foreach(file ${files})
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${file})
    get_filename_component(name ${file} NAME_WE)
    string(REGEX MATCH "^[0-9]+" version ${name})
    if(NOT version)
      message(FATAL_ERROR "migration ${file} must start with its number, e.g. 001_init.sql")
    endif()
    math(EXPR version "${version}")
    file(READ ${file} sql)
    string(APPEND body "      {${version}, \"${name}\", R\"nightshift_sql(${sql})nightshift_sql\"},\n")
  endforeach()
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${db}_migrations.cc)
  file(CONFIGURE OUTPUT ${out} CONTENT
"// Generated from schema/sql/${db}/ by cmake/embed_sql.cmake. Do not edit.
#include \"schema/migrations.h\"

namespace nightshift::sql {

const std::vector<Migration>& ${db}_migrations() {
  static const std::vector<Migration> migrations = {
${body}  };
  return migrations;
}

}  // namespace nightshift::sql
")
  set(${out_var} ${out} PARENT_SCOPE)
endfunction()
