"""Representativeness (STANDING Together): each cohort's composition against a reference
population, who is missing, who drops out, and the datasheet that documents it."""
