create table t (a int, b int, constraint ab check (a < b) , constraint a_pos check (a > 0) no inherit);
