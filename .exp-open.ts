import { openDatabase } from './src/db/connect.js';
import { sqliteHandleOf } from './src/db/connect.js';
const t0 = Date.now();
const d = await openDatabase(`sqlite:${process.argv[2]}`);
console.log('open incl. optimize ms', Date.now() - t0);
console.log(sqliteHandleOf(d.db)!.prepare('select * from sqlite_stat1').all());
await d.close();
