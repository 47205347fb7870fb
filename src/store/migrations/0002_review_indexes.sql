-- Indexes for the review screens: counting raters per item of a study and
-- listing one rater's queue stay fast with thousands of assignments.
CREATE INDEX assignments_study_item ON assignments(study_id, item_id);
CREATE INDEX assignments_rater ON assignments(rater_id);
