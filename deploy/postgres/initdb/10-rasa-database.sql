-- Run once by the postgres image when its data volume is created (deploy/compose.yaml): the second
-- database, for Rasa's tracker store. The first one, `complaints`, comes from POSTGRES_DB.
CREATE DATABASE rasa OWNER complaints;
