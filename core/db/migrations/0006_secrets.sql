CREATE TABLE `secrets` (
	`name` text PRIMARY KEY NOT NULL,
	`nonce` blob NOT NULL,
	`sealed` blob NOT NULL,
	`key_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`updated_by` text NOT NULL
);
