# lib/store/migrate.c: the source tree's db/migrations is the migrations directory
# used when neither an argument nor OUTDIAL_MIGRATIONS_DIR names one (tests,
# development builds). Installed deployments set OUTDIAL_MIGRATIONS_DIR.
set_property(SOURCE ${CMAKE_SOURCE_DIR}/lib/store/migrate.c APPEND PROPERTY COMPILE_DEFINITIONS
             OUTDIAL_MIGRATIONS_DIR_BUILTIN="${CMAKE_SOURCE_DIR}/db/migrations")
