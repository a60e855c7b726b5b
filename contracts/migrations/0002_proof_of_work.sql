-- An optional proof-of-work on join, per sale: leading zero bits a join's proof must have
-- (0: no proof needed).
ALTER TABLE sales ADD COLUMN pow_difficulty integer NOT NULL DEFAULT 0
  CHECK (pow_difficulty >= 0 AND pow_difficulty <= 32);
