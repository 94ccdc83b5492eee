"""Every limit a dataset, an image or a download is read under, with its reason, in one place.

A data file comes from anywhere (a download, a mail, a shared folder), so nothing it says
about itself is trusted: not the sizes in its headers, not its zip directory, not its
member sizes. Every reader checks what a file declares against these bounds *before* it
allocates, and the bound of what it then allocates is what the data can honestly need:

- the images of one dataset at most ``MAX_PIXEL_BYTES`` (uint8), one image at most
  ``MAX_IMAGE_VALUES`` values;
- a compressed stream (gzip IDX, npz member) at most ``MAX_COMPRESSION_RATIO`` times its
  compressed size once past ``RATIO_FREE_BYTES``;
- the reader's own peak: the final arrays plus ``READ_SLACK_BYTES`` (one copy, written in
  place; no second full copy).

docs/data.md ("Limits") lists them for users; docs/reliability.md says how they are tested.
"""

from __future__ import annotations

MiB = 2**20
GiB = 2**30

# ---- the images of one dataset ------------------------------------------------------------
#: uint8 pixels of one dataset (all images together). Training converts them to float32
#: (4x) and the trainer keeps a batch copy, so 1 GiB of pixels already needs ~5 GiB of RAM:
#: beyond it no machine this app targets can train. MNIST is 47 MB, CIFAR-10 184 MB.
MAX_PIXEL_BYTES = 1 * GiB
#: values (H x W x C) of one image: a 1024x1024 colour image, 20x what VGG-16 takes
#: (224x224x3). A single 200 MB CSV row was accepted as one 10000x10000 image (4.4 GB).
MAX_IMAGE_VALUES = 3 * 1024 * 1024
#: images in one dataset: the pixel cap already bounds them; this bounds the labels array of
#: tiny images (1x1 pixel, 8-byte labels)
MAX_IMAGES = 20_000_000
#: class labels must be below this (a class index, not an ID): beyond it "classes" are noise
MAX_CLASSES = 100_000

# ---- compressed data (gzip IDX, npz members) -----------------------------------------------
#: a stream inflating to more than this many times its compressed size is refused once it has
#: produced RATIO_FREE_BYTES. MNIST's gzip IDX files inflate 4.8:1, Fashion-MNIST 2.6:1,
#: np.savez_compressed of MNIST 7:1, of sparse binary shapes up to ~60:1; deflate's own
#: maximum is ~1032:1 (all zeros), which is what a memory bomb uses (4.1 million blank
#: images in 3 MB).
MAX_COMPRESSION_RATIO = 200
#: below this much output the ratio is not checked (a small file of zeros is no threat)
RATIO_FREE_BYTES = 16 * MiB
#: compressed streams are inflated in pieces of this size into the preallocated array
READ_CHUNK_BYTES = 1 * MiB
#: what a reader may hold besides its result: one chunk being inflated, a CSV row batch
READ_SLACK_BYTES = 64 * MiB

# ---- npz (a zip of .npy members) -----------------------------------------------------------
#: members of a dataset .npz (x, y, class_names and a few extras). The directory's entry
#: count is read from the end record and refused before zipfile parses it: a directory of
#: 2 million entries cost 1.0 GB and 27 s.
MAX_NPZ_MEMBERS = 64
#: bytes of central directory per entry: 46 fixed + a short name + a zip64 extra field
CENTRAL_DIRECTORY_BYTES_PER_ENTRY = 1024
#: bytes of all arrays of one .npz as stored (float64 images of MAX_PIXEL_BYTES/4 pixels fit)
MAX_NPZ_ARRAY_BYTES = 2 * GiB
#: an .npy header is ~120 bytes; numpy itself refuses over 10,000
MAX_NPY_HEADER_BYTES = 10_000
#: zip compression methods read: stored and deflate (what numpy writes); bzip2 and lzma
#: members are inflated by zipfile without an output bound per call
ALLOWED_COMPRESSION = (0, 8)

# ---- CSV -----------------------------------------------------------------------------------
#: a CSV file larger than this is refused before it is read (IDX or .npz hold the same
#: images in a quarter of the space); it holds at most MAX_PIXEL_BYTES of pixels
MAX_CSV_BYTES = 2 * GiB
#: characters of one CSV row: a label and MAX_IMAGE_VALUES values of up to 3 digits, with
#: room for spaces and "255.0"; a longer row is refused as soon as it is seen
MAX_CSV_ROW_BYTES = 7 * (MAX_IMAGE_VALUES + 1)
#: rows parsed at once (numpy's C parser) before they are written into the uint8 array
CSV_BATCH_BYTES = 8 * MiB

# ---- images (image folders, predict) -------------------------------------------------------
#: pixels of one decoded image file: a 40-megapixel photo; Pillow's own MAX_IMAGE_PIXELS
#: (89 million) is above what we read, and the header is checked before decoding. Besides,
#: no PNG chunk may claim more bytes than its file holds: Pillow skips the rest of an IDAT
#: with one read() of the claimed length (4 GB claimed -> MemoryError)
MAX_PIXELS = 40_000_000
#: pixels an image file may declare per byte of file, above IMAGE_RATIO_FREE_PIXELS: a blank
#: PNG compresses about 1000 pixels into a byte (deflate's limit), photos and digits far less.
#: Pillow allocates the whole image before it reads the data, so a 100-byte PNG declaring
#: 6000x6000 pixels (within MAX_PIXELS) would cost 36 MB (144 MB as RGBA) per file of a folder
MAX_PIXELS_PER_BYTE = 1100
#: below this many pixels (a 2000x2000 image, 16 MB decoded) the ratio is not checked
IMAGE_RATIO_FREE_PIXELS = 4_000_000
#: image files in one folder tree: an import of more is a wrong folder (e.g. "/")
MAX_FOLDER_FILES = 2_000_000
#: class sub-folders of an image folder (ImageNet has 1,000)
MAX_FOLDER_CLASSES = 10_000

# ---- downloads -----------------------------------------------------------------------------
#: what a download without a published size may write (the largest standard file, CIFAR-10,
#: is 170 MB)
MAX_DOWNLOAD_BYTES = 512 * MiB
#: seconds one download may take in all: CIFAR-10 at 100 kB/s takes 28 minutes
DOWNLOAD_DEADLINE_S = 3600.0
#: the slowest transfer kept going, in bytes per second averaged over RATE_WINDOW_S: a
#: server dripping one byte every few seconds is ended with a message instead of running
#: for days
MIN_RATE_BYTES_S = 2_000.0
#: seconds over which the rate is measured (and the grace period after a connect)
RATE_WINDOW_S = 30.0
#: seconds a second process waits for another's download of the same file before it says
#: another download is running
LOCK_WAIT_S = 0.0
