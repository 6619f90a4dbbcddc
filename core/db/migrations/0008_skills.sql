CREATE TABLE `skills` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`tier` integer NOT NULL,
	`spec` text NOT NULL,
	`hash` text NOT NULL,
	`approved_hash` text,
	`approved_by` text,
	`approved_at` integer,
	`enabled` integer DEFAULT true NOT NULL,
	`source` text NOT NULL,
	`tools` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `skills_name_idx` ON `skills` (`name`);