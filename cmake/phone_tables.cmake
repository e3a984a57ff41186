# Tables generated at build time from libphonenumber's data as Debian ships
# it (python3-phonenumbers); nothing generated is committed:
#   - phone prefix -> time zones, for lib/rules/lead_tz.c (tools/gen/phone_tz.py,
#     phonenumbers.tzdata);
#   - NANP area code -> US state / Canadian province, for lib/rules/lead_region.c
#     (tools/gen/phone_region.py, phonenumbers.geodata).
# Debian's /usr/bin/python3 is used on purpose: another python3 earlier on
# the PATH (pyenv, venv) does not see the Debian package.
set(OUTDIAL_PHONENUMBERS_PYTHON /usr/bin/python3 CACHE FILEPATH
    "Python that can import phonenumbers (Debian's python3-phonenumbers)")

# outdial_phone_table(NAME DATA_MODULE COMMENT): runs tools/gen/NAME.py into
# gen/NAME_table.c, rerun when the script, tools/gen/gen_c.py or the data
# module's files change, and adds the output to OUTDIAL_GENERATED_SOURCES.
function(outdial_phone_table name module comment)
    execute_process(
        COMMAND ${OUTDIAL_PHONENUMBERS_PYTHON} -c
                "import os, ${module} as m; print(os.path.dirname(m.__file__))"
        OUTPUT_VARIABLE data_dir
        OUTPUT_STRIP_TRAILING_WHITESPACE
        RESULT_VARIABLE rc
        ERROR_QUIET)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "${OUTDIAL_PHONENUMBERS_PYTHON} cannot import ${module}: "
                            "install the Debian package python3-phonenumbers")
    endif()
    file(GLOB data_files ${data_dir}/*.py)

    set(out ${CMAKE_BINARY_DIR}/gen/${name}_table.c)
    add_custom_command(
        OUTPUT ${out}
        COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/gen
        COMMAND ${OUTDIAL_PHONENUMBERS_PYTHON} ${CMAKE_SOURCE_DIR}/tools/gen/${name}.py ${out}
        DEPENDS ${CMAKE_SOURCE_DIR}/tools/gen/${name}.py ${CMAKE_SOURCE_DIR}/tools/gen/gen_c.py
                ${data_files}
        COMMENT "${comment}")
    set(OUTDIAL_GENERATED_SOURCES ${OUTDIAL_GENERATED_SOURCES} ${out} PARENT_SCOPE)
endfunction()

outdial_phone_table(phone_tz phonenumbers.tzdata
                    "Generating phone prefix time zone table from python3-phonenumbers")
outdial_phone_table(phone_region phonenumbers.geodata
                    "Generating area code region table from python3-phonenumbers")
