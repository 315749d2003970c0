package slack

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/slack-go/slack"
)

// UploadFiles shares files in channel, in the thread of threadTS if set,
// one after the other. It tries every file and returns the failures as
// *UploadError (joined).
func (c *Client) UploadFiles(ctx context.Context, channel, threadTS string, files []Upload) error {
	var errs []error
	for _, f := range files {
		if err := c.upload(ctx, channel, threadTS, f); err != nil {
			errs = append(errs, &UploadError{Name: f.Name, Err: err})
		}
	}
	return errors.Join(errs...)
}

// upload runs the files upload V2 flow (the legacy files.upload is
// retired): files.getUploadURLExternal, a POST of the content to the URL
// it gives, files.completeUploadExternal to share it. slack-go's
// UploadFileContext chains the same three calls; they are made one by one
// here so that each step is retried on its own (a failed completion does
// not upload the content again, nor leave an orphan file per retry).
func (c *Client) upload(ctx context.Context, channel, threadTS string, f Upload) error {
	f = c.redactUpload(f)
	if len(f.Content) == 0 {
		c.log.Debug("empty file not uploaded", "file", f.Name)
		return nil
	}
	var target *slack.GetUploadURLExternalResponse
	err := c.call(ctx, "files.getUploadURLExternal", func(ctx context.Context) error {
		var err error
		target, err = c.api.GetUploadURLExternalContext(ctx, slack.GetUploadURLExternalParameters{
			FileName: f.Name,
			FileSize: len(f.Content),
			AltTxt:   f.AltText,
		})
		return err
	})
	if err != nil {
		return err
	}
	err = c.call(ctx, "files.upload", func(ctx context.Context) error {
		return c.api.UploadToURL(ctx, slack.UploadToURLParameters{
			UploadURL: target.UploadURL,
			Reader:    bytes.NewReader(f.Content),
			Filename:  f.Name,
		})
	})
	if err != nil {
		return err
	}
	// Sharing the file posts in the channel: it takes its turn in the
	// channel's queue like a message (only this step: the transfer of the
	// content does not hold the channel's other posts back).
	title := f.Title
	if title == "" {
		title = f.Name
	}
	turn, err := c.pacer.enter(ctx, channel)
	if err != nil {
		return fmt.Errorf("slack files.completeUploadExternal: %w", err)
	}
	defer turn.leave()
	return c.call(ctx, "files.completeUploadExternal", turn.write(func(ctx context.Context) error {
		_, err := c.api.CompleteUploadExternalContext(ctx, slack.CompleteUploadExternalParameters{
			Files:           []slack.FileSummary{{ID: target.FileID, Title: title}},
			Channel:         channel,
			ThreadTimestamp: threadTS,
		})
		return err
	}))
}
