-- The store as Kongpan 0.1 (before Alembic, commit 14ec80d) created it on
-- SQLite, with one weekly snapshot of two deals, a target and a mapping
-- profile. tests/test_migrations.py opens it with today's Store.

CREATE TABLE snapshots (
	snapshot_id INTEGER NOT NULL,
	kind VARCHAR(16) NOT NULL,
	file_name TEXT NOT NULL,
	sha256 VARCHAR(80) NOT NULL,
	as_of DATE,
	imported_at DATETIME NOT NULL,
	imported_by TEXT,
	origin VARCHAR(16) NOT NULL,
	rows_read INTEGER NOT NULL,
	rows_imported INTEGER NOT NULL,
	rows_rejected INTEGER NOT NULL,
	report_json TEXT,
	PRIMARY KEY (snapshot_id),
	UNIQUE (sha256)
);
CREATE TABLE targets (
	target_id INTEGER NOT NULL,
	owner TEXT,
	team TEXT,
	month VARCHAR(7) NOT NULL,
	target FLOAT NOT NULL,
	updated_at DATETIME NOT NULL,
	updated_by TEXT,
	PRIMARY KEY (target_id)
);
CREATE INDEX ix_targets_month ON targets (month);
CREATE TABLE reps (
	name VARCHAR(200) NOT NULL,
	team TEXT,
	supervisor TEXT,
	active BOOLEAN,
	left_on DATETIME,
	origin VARCHAR(16),
	updated_at DATETIME NOT NULL,
	PRIMARY KEY (name)
);
CREATE TABLE mapping_profiles (
	name VARCHAR(200) NOT NULL,
	kind VARCHAR(16) NOT NULL,
	mapping_json TEXT NOT NULL,
	updated_at DATETIME NOT NULL,
	PRIMARY KEY (name)
);
CREATE TABLE deals (
	snapshot_id INTEGER NOT NULL,
	source_row INTEGER,
	deal_id TEXT,
	deal_name TEXT,
	customer TEXT,
	owner TEXT,
	team TEXT,
	stage TEXT,
	amount FLOAT,
	currency TEXT,
	win_probability FLOAT,
	created_at DATETIME,
	expected_close DATETIME,
	closed_at DATETIME,
	lost_reason TEXT,
	lost_at_stage TEXT,
	source TEXT,
	intent TEXT,
	industry TEXT,
	customer_type TEXT,
	product TEXT,
	next_step TEXT,
	next_step_due DATETIME,
	last_touch_at DATETIME,
	note TEXT,
	FOREIGN KEY(snapshot_id) REFERENCES snapshots (snapshot_id)
);
CREATE INDEX ix_deals_deal ON deals (deal_id);
CREATE INDEX ix_deals_snapshot ON deals (snapshot_id);
CREATE TABLE activities (
	activity_id INTEGER NOT NULL,
	activity_key VARCHAR(64) NOT NULL,
	snapshot_id INTEGER NOT NULL,
	source_row INTEGER,
	activity_at DATETIME,
	owner TEXT,
	customer TEXT,
	deal_id TEXT,
	kind TEXT,
	effective BOOLEAN,
	summary TEXT,
	next_step TEXT,
	next_step_due DATETIME,
	PRIMARY KEY (activity_id),
	UNIQUE (activity_key),
	FOREIGN KEY(snapshot_id) REFERENCES snapshots (snapshot_id)
);
CREATE INDEX ix_activities_at ON activities (activity_at);

INSERT INTO snapshots VALUES (1, 'deals', 'weekly_2024-03-22.csv', 'legacy-sha-1', '2024-03-22',
    '2024-03-25 10:00:00.000000', NULL, 'upload', 2, 2, 0, '{}');
INSERT INTO deals (snapshot_id, source_row, deal_id, customer, owner, stage, amount, closed_at)
    VALUES (1, 2, 'L-1', '甲公司', '张三', 'won', 120000.0, '2024-03-20 00:00:00.000000');
INSERT INTO deals (snapshot_id, source_row, deal_id, customer, owner, stage, amount, expected_close)
    VALUES (1, 3, 'L-2', '乙公司', '李四', 'negotiating', 80000.0, '2024-03-29 00:00:00.000000');
INSERT INTO targets (owner, team, month, target, updated_at)
    VALUES ('张三', '华东组', '2024-03', 300000.0, '2024-03-01 09:00:00.000000');
INSERT INTO mapping_profiles VALUES ('老CRM', 'deals', '{"stage": "状态"}',
    '2024-03-01 09:00:00.000000');
