package repo

func ByName(db *gorm.DB, name string) (User, error) {
	var u User
	err := db.Where("name = ?", name).First(&u).Error
	return u, err
}
