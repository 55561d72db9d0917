"""The pages (Dash Pages, ``use_pages``): each module registers its path and a layout
function; the shell around them is components/layout.py."""
