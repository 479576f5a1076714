"""One model: a note with a title, a body and when it was written."""

from django.db import models


class Note(models.Model):
    title = models.CharField(max_length=200, unique=True)
    body = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.title
