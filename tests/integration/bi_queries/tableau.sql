-- Tableau Desktop/Server PostgreSQL connector (psqlODBC): connect handshake, table list, columns, primary and foreign keys of a table.
-- source: postgresql-interfaces/psqlodbc connection.c (LIBPQ_CC_connect: "SET DateStyle = 'ISO';SET extra_float_digits = 2;" ISOLATION_SHOW_QUERY; lo type probe; max_identifier_length)
-- source: postgresql-interfaces/psqlodbc info.c (PGAPI_Columns, PGAPI_PrimaryKeys, PGAPI_ForeignKeys query text)
-- source: cube-js/cube rust/cubesql test (simple query "Tableau Desktop": SET DateStyle = 'ISO';SET extra_float_digits = 2;show transaction_isolation, one message, 4 results)
-- source: a GigaSpaces OdbcMetadataQueryTest.java ("Queries executed while creating a datasource ... using UI": Tableau via psqlODBC 13+, server >= 12 column list with "0, attidentity, c.relhassubclass")
-- source: codenotary/immudb pkg/pgsql/server (Tableau/ODBC table-list prefix) and an Aircloak ODBC test ("tableau table list query" with BEGIN;declare ... cursor;fetch 2048)
-- source: a PostgreSQL server log of a psqlODBC client (primary-key query by oid; sequence SQLColumns -> show max_identifier_length -> SQLPrimaryKeys)
-- Substituted values: database laminar, schema public, table orders (oid 16384), cursor name as captured.

-- psqlODBC connect: ONE simple-query message with three statements (kept on one line on purpose); Tableau reads the isolation level from the third result
SET DateStyle = 'ISO';SET extra_float_digits = 2;show transaction_isolation;

-- psqlODBC connect: large-object type probe (returns no rows on a stock server)
select oid, typbasetype from pg_type where typname = 'lo';

-- psqlODBC: SQLGetInfo(SQL_MAX_*_NAME_LEN) -> max identifier length
show max_identifier_length;

-- Tableau "creating a data source using the UI" probe (GigaSpaces test list)
select NULL, NULL, NULL;

-- psqlODBC SQLTables (Tableau table list; server >= 10 form including 'p')
select relname, nspname, relkind from pg_catalog.pg_class c, pg_catalog.pg_namespace n where relkind in ('r', 'v', 'm', 'f', 'p') and nspname not in ('pg_catalog', 'information_schema', 'pg_toast', 'pg_temp_1') and n.oid = relnamespace order by nspname, relname;

-- psqlODBC SQLColumns by name (catalog 'orders' in schema 'public'; LIKE pattern search, server >= 12 form: 0 instead of c.relhasoids)
select n.nspname, c.relname, a.attname, a.atttypid, t.typname, a.attnum, a.attlen, a.atttypmod, a.attnotnull, c.relhasrules, c.relkind, c.oid, pg_get_expr(d.adbin, d.adrelid), case t.typtype when 'd' then t.typbasetype else 0 end, t.typtypmod, 0, attidentity, c.relhassubclass from (((pg_catalog.pg_class c inner join pg_catalog.pg_namespace n on n.oid = c.relnamespace and c.relname like 'orders' and n.nspname like 'public') inner join pg_catalog.pg_attribute a on (not a.attisdropped) and a.attnum > 0 and a.attrelid = c.oid) inner join pg_catalog.pg_type t on t.oid = a.atttypid) left outer join pg_attrdef d on a.atthasdef and d.adrelid = a.attrelid and d.adnum = a.attnum order by n.nspname, c.relname, attnum;

-- psqlODBC SQLColumns by table oid (used to describe result columns of a custom SQL / query: search_by_ids)
select n.nspname, c.relname, a.attname, a.atttypid, t.typname, a.attnum, a.attlen, a.atttypmod, a.attnotnull, c.relhasrules, c.relkind, c.oid, pg_get_expr(d.adbin, d.adrelid), case t.typtype when 'd' then t.typbasetype else 0 end, t.typtypmod, 0, attidentity, c.relhassubclass from (((pg_catalog.pg_class c inner join pg_catalog.pg_namespace n on n.oid = c.relnamespace and c.oid = 16384) inner join pg_catalog.pg_attribute a on (not a.attisdropped) and a.attnum > 0 and a.attrelid = c.oid) inner join pg_catalog.pg_type t on t.oid = a.atttypid) left outer join pg_attrdef d on a.atthasdef and d.adrelid = a.attrelid and d.adnum = a.attnum order by n.nspname, c.relname, attnum;

-- psqlODBC SQLPrimaryKeys by name
select ta.attname, ia.attnum, ic.relname, n.nspname, tc.relname from pg_catalog.pg_attribute ta, pg_catalog.pg_attribute ia, pg_catalog.pg_class tc, pg_catalog.pg_index i, pg_catalog.pg_namespace n, pg_catalog.pg_class ic where tc.relname = 'orders' AND n.nspname = 'public' AND tc.oid = i.indrelid AND n.oid = tc.relnamespace AND i.indisprimary = 't' AND ia.attrelid = i.indexrelid AND ta.attrelid = i.indrelid AND ta.attnum = i.indkey[ia.attnum-1] AND (NOT ta.attisdropped) AND (NOT ia.attisdropped) AND ic.oid = i.indexrelid order by ia.attnum;

-- psqlODBC SQLPrimaryKeys by table oid (server log capture)
select ta.attname, ia.attnum, ic.relname, n.nspname, tc.relname from pg_catalog.pg_attribute ta, pg_catalog.pg_attribute ia, pg_catalog.pg_class tc, pg_catalog.pg_index i, pg_catalog.pg_namespace n, pg_catalog.pg_class ic where tc.oid = 16384 AND tc.oid = i.indrelid AND n.oid = tc.relnamespace AND i.indisprimary = 't' AND ia.attrelid = i.indexrelid AND ta.attrelid = i.indrelid AND ta.attnum = i.indkey[ia.attnum-1] AND (NOT ta.attisdropped) AND (NOT ia.attisdropped) AND ic.oid = i.indexrelid order by ia.attnum;

-- psqlODBC SQLForeignKeys (foreign keys of public.orders)
select  'laminar'::name as "PKTABLE_CAT",
                n2.nspname as "PKTABLE_SCHEM",
                c2.relname as "PKTABLE_NAME",
                a2.attname as "PKCOLUMN_NAME",
                'laminar'::name as "FKTABLE_CAT",
                n1.nspname as "FKTABLE_SCHEM",
                c1.relname as "FKTABLE_NAME",
                a1.attname as "FKCOLUMN_NAME",
                i::int2 as "KEY_SEQ",
                case ref.confupdtype
                        when 'c' then 0::int2
                        when 'n' then 2::int2
                        when 'd' then 4::int2
                        when 'r' then 1::int2
                        else 3::int2
                end as "UPDATE_RULE",
                case ref.confdeltype
                        when 'c' then 0::int2
                        when 'n' then 2::int2
                        when 'd' then 4::int2
                        when 'r' then 1::int2
                        else 3::int2
                end as "DELETE_RULE",
                ref.conname as "FK_NAME",
                cn.conname as "PK_NAME",
                case
                        when ref.condeferrable then
                                case
                                when ref.condeferred then 5::int2
                                else 6::int2
                                end
                        else 7::int2
                end as "DEFERRABILITY"
         from
         ((((((( (select cn.oid, conrelid, conkey, confrelid, confkey,
                 generate_series(array_lower(conkey, 1), array_upper(conkey, 1)) as i,
                 confupdtype, confdeltype, conname,
                 condeferrable, condeferred
          from pg_catalog.pg_constraint cn,
                pg_catalog.pg_class c,
                pg_catalog.pg_namespace n
          where contype = 'f'
           and  conrelid = c.oid
           and  relname = 'orders'
           and  n.oid = c.relnamespace
           and  n.nspname = 'public'
         ) ref
         inner join pg_catalog.pg_class c1
          on c1.oid = ref.conrelid)
         inner join pg_catalog.pg_namespace n1
          on  n1.oid = c1.relnamespace)
         inner join pg_catalog.pg_attribute a1
          on  a1.attrelid = c1.oid
          and  a1.attnum = conkey[i])
         inner join pg_catalog.pg_class c2
          on  c2.oid = ref.confrelid)
         inner join pg_catalog.pg_namespace n2
          on  n2.oid = c2.relnamespace)
         inner join pg_catalog.pg_attribute a2
          on  a2.attrelid = c2.oid
          and  a2.attnum = confkey[i])
         left outer join pg_catalog.pg_constraint cn
          on cn.conrelid = ref.confrelid
          and cn.contype = 'p')
          order by ref.oid, ref.i;

-- psqlODBC with UseDeclareFetch=1 (as seen from Tableau): table list through a cursor; ONE simple-query message (kept on one line).
-- It leaves a transaction open (psqlODBC later sends close/COMMIT); it is last in this file for that reason.
BEGIN;declare "SQL_CUR04645D10" cursor for select relname, nspname, relkind from pg_catalog.pg_class c, pg_catalog.pg_namespace n where relkind in ('r', 'v') and nspname not in ('pg_catalog', 'information_schema', 'pg_toast', 'pg_temp_1') and n.oid = relnamespace order by nspname, relname;fetch 2048 in "SQL_CUR04645D10";
